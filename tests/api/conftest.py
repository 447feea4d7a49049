"""Fixtures for the REST API: learners signed in through allauth headless, tracks to read."""

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache, caches
from django.test import Client

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.content.models import Track
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, TrackFactory

PASSWORD = "a-good-passphrase-42"
HEADLESS = "/_allauth/app/v1"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Throttles and allauth's rate limits count in the cache: every test starts at zero.
    The memo of answers goes too: rolled-back tests reuse ids (SQLite), so versions."""
    cache.clear()
    caches["fragments"].clear()
    yield
    cache.clear()


class Api:
    """A JSON client for /api/v1/, signed in with an X-Session-Token or anonymous."""

    def __init__(self, token: str | None = None, user: User | None = None) -> None:
        self.client = Client()
        self.token = token
        self.user = user

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"X-Session-Token": self.token} if self.token else {}
        return {**headers, **(extra or {})}

    def request(
        self,
        method: str,
        path: str,
        data: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        query: dict[str, Any] | None = None,
    ) -> Any:
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs: dict[str, Any] = {"headers": self._headers(headers)}
        if method in ("get", "delete", "head", "options") and data is None and raw is None:
            return getattr(self.client, method)(url, query or {}, **kwargs)
        body = raw if raw is not None else json.dumps(data)
        return getattr(self.client, method)(url, body, content_type=content_type, **kwargs)

    def get(self, path: str, query: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("get", path, query=query, **kw)

    def put(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.request("put", path, data, **kw)

    def post(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.request("post", path, data, **kw)

    def patch(self, path: str, data: Any = None, **kw: Any) -> Any:
        return self.request("patch", path, data, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("delete", path, **kw)


def headless_login(email: str, password: str = PASSWORD) -> str:
    """Sign in as the app does and return the session token."""
    response = Client().post(
        f"{HEADLESS}/auth/login",
        {"email": email, "password": password},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


@pytest.fixture
def make_learner(db: Any) -> Callable[..., Api]:
    counter = iter(range(1000))

    def make(email: str | None = None) -> Api:
        user = user_create(
            email=email or f"api-learner-{next(counter)}@example.com",
            password=PASSWORD,
            email_verified=True,
        )
        return Api(token=headless_login(user.email), user=user)

    return make


@pytest.fixture
def alice(make_learner: Callable[..., Api]) -> Api:
    return make_learner("alice@example.com")


@pytest.fixture
def bob(make_learner: Callable[..., Api]) -> Api:
    return make_learner("bob@example.com")


@pytest.fixture
def anon(db: Any) -> Api:
    return Api()


def build_track(*, steps: int = 3, resources: int = 0, **track_fields: Any) -> Track:
    """A published track with ``steps`` steps, each needing the one before, and
    ``resources`` resources spread over the steps."""
    track = TrackFactory(**track_fields)
    made = [StepFactory(track=track, position=n, key=f"s{n}") for n in range(steps)]
    for before, after in itertools.pairwise(made):
        after.prerequisites.add(before)
    for n in range(resources):
        StepResourceFactory(step=made[n % steps], resource=ResourceFactory(), position=n)
    return track


@pytest.fixture
def track(db: Any) -> Track:
    return build_track(steps=4, resources=6, slug="llm-basics", title="LLM basics")
