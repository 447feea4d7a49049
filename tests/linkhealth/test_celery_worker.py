"""A scheduled run through a real Redis broker and a Celery worker subprocess."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from apps.linkhealth.models import Health, LinkCheck, LinkCheckClaim, LinkCheckRun, ResourceHealth
from tests.conftest import redis_url
from tests.factories import ResourceFactory

# Link health's own Redis database, so other suites' workers never take these tasks.
REDIS_DB = 7
WAIT_SECONDS = 20


def _own_redis_url() -> str:
    parts = urlsplit(redis_url())
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_due_links_fan_out_in_chunks_to_a_worker_through_redis(farm):
    import redis

    broker = _own_redis_url()
    redis.Redis.from_url(broker).flushdb()
    paths = [f"/page{n}" for n in range(5)] + ["/gone"]
    for path in paths[:-1]:
        farm.route(path)
    farm.route("/gone", status=404)
    resources = [ResourceFactory(url=farm.url(path)) for path in paths]

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": _test_database_url(),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": broker,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "LINK_CHECK_CHUNK_SIZE": "2",
        "LINK_CHECK_TIMEOUT_SECONDS": "2",
    }
    worker = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config.celery_app",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=warning",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        sender = Celery(broker=broker, set_as_current=False)
        # What beat sends every hour; twice, as a duplicate delivery would.
        sender.send_task("apps.linkhealth.tasks.links_check_due")
        sender.send_task("apps.linkhealth.tasks.links_check_due")
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            if LinkCheck.objects.count() >= len(paths):
                break
            time.sleep(0.2)
        time.sleep(0.5)  # in case a link were wrongly checked again
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            output, _ = worker.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()

    log = output.decode(errors="replace")
    assert LinkCheck.objects.count() == len(paths), log
    assert all(farm.hit_count(path) == 1 for path in paths), (farm.hits, log)
    run = LinkCheckRun.objects.get()  # the second delivery found the hour taken
    assert run.kind == "scheduled"
    chunks = set(LinkCheckClaim.objects.filter(run=run).values_list("chunk", flat=True))
    assert chunks == {0, 1, 2}
    assert not LinkCheckClaim.objects.filter(checked_at__isnull=True).exists()
    gone = ResourceHealth.objects.get(resource=resources[-1])
    assert (gone.last_outcome, gone.health) == ("broken", Health.UNKNOWN)
    assert ResourceHealth.objects.filter(health=Health.OK).count() == 5
