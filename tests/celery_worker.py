"""A real Celery worker in a subprocess, fed through a real Redis broker, for tests."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from django.conf import settings
from django.db import connection

from tests.conftest import redis_url


@dataclass
class WorkerRun:
    #: Sends tasks by name to the worker's broker; never the process's current app, so
    #: other tests keep running their tasks eagerly.
    sender: Celery
    process: subprocess.Popen[bytes]
    log: str = ""

    def wait_until(self, done: Callable[[], bool], seconds: float = 90) -> None:
        """Wait for ``done``, generously: a worker on a busy machine takes a while to start."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None and not done():
            time.sleep(0.2)
        time.sleep(0.5)  # a moment more, in case something would wrongly run twice


def shared_database_url() -> str:
    """The URL of the test database, for a worker process to share it."""
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


#: The Redis databases worker tests lease, one a test, and the one that keeps the leases.
#: (Others are taken: the test settings' cache, the production tests' 12, the benchmarks'.)
WORKER_REDIS_DATABASES = range(6, 12)
LEASES_REDIS_DATABASE = 15
#: A lease lapses by itself this long after it was taken: a test session that died holding
#: one does not hold it for ever.
LEASE_SECONDS = 1800


@contextmanager
def redis_database_leased() -> Iterator[int]:
    """A Redis database for a test's workers that no other test session on this Redis uses
    meanwhile (two sessions' workers would take each other's tasks)."""
    import redis

    leases = redis.Redis.from_url(redis_url(LEASES_REDIS_DATABASE))
    holder = uuid.uuid4().hex
    deadline = time.monotonic() + 600
    while True:
        for number in WORKER_REDIS_DATABASES:
            key = f"stepwise-tests:worker-redis-database:{number}"
            if leases.set(key, holder, nx=True, ex=LEASE_SECONDS):
                try:
                    yield number
                finally:
                    if leases.get(key) == holder.encode():
                        leases.delete(key)
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no free Redis database among {list(WORKER_REDIS_DATABASES)}")
        time.sleep(1)


@contextmanager
def celery_worker(
    *,
    redis_db: int,
    keep_queue: bool = False,
    env: dict[str, str] | None = None,
    pool: str = "solo",
    concurrency: int = 1,
) -> Iterator[WorkerRun]:
    """Start a worker on a Redis database (leased by ``redis_database_leased``) and the test
    database; stop it on exit and keep what it printed in ``log``. The database is emptied
    first unless ``keep_queue``: a worker started again after a killed one finds the queue
    as that one left it."""
    import redis

    broker = redis_url(redis_db)
    if not keep_queue:
        redis.Redis.from_url(broker).flushdb()
    process = subprocess.Popen(  # noqa: S603 - our own celery, fixed arguments
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "config.celery_app",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=warning",
        ],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DATABASE_URL": shared_database_url(),
            "CONN_MAX_AGE": "0",
            "REDIS_URL": broker,
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false",
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    run = WorkerRun(sender=Celery(broker=broker, set_as_current=False), process=process)
    try:
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        run.log = output.decode(errors="replace")
