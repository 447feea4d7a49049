import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _need(what: str, available: bool) -> None:
    """Skip locally when a service is missing; in CI a missing service is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available.")
    pytest.skip(f"{what} not available here")


def redis_url(database: int | None = None) -> str:
    """The tests' Redis (``REDIS_URL``), or another of its numbered databases."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if database is None:
        return url
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _redis_answers() -> bool:
    parts = urlsplit(redis_url())
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        _need("PostgreSQL (set DATABASE_URL)", connection.vendor == "postgresql")
    if request.node.get_closest_marker("redis"):
        _need(f"Redis at {redis_url()}", _redis_answers())
    if request.node.get_closest_marker("browser"):
        _need(f"Chromium at {CHROMIUM}", os.access(CHROMIUM, os.X_OK))


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and cached pages never leak from one test into another."""
    from django.core.cache import caches

    caches["default"].clear()
    # Rolled-back tests reuse ids and content revisions: start every test afresh.
    caches["fragments"].clear()


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def staff_client(client, db):
    from apps.accounts.services import curators_group_ensure

    curator = UserFactory(is_staff=True)
    curator.groups.add(curators_group_ensure())
    client.force_login(curator)
    return client


@pytest.fixture
def roadmaps_dir():
    return settings.STEPWISE_ROADMAPS_DIR


@pytest.fixture
def worker_redis_db() -> Iterator[int]:
    """A Redis database for this test's Celery workers, leased from the other test sessions."""
    from tests.celery_worker import redis_database_leased

    with redis_database_leased() as number:
        yield number
