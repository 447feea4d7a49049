"""This process publishing to a real broker (a Redis of the test's own, see
``tests.production.own_redis``), as a web process with ``REDIS_URL`` does."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

import pytest
from django.db import connection
from django.test import override_settings

T = TypeVar("T")


def _celery_pools_reset() -> None:
    """Forget every broker connection: the next publish connects to the configured broker."""
    from kombu import pools

    from config.celery_app import app

    pools.reset()  # kombu's process-wide pools, one per broker URL
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This process's Celery publishes to ``broker_url`` instead of running tasks eagerly;
    back to eager afterwards."""
    from apps.core import outbox

    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=broker_url):
        _celery_pools_reset()
        # A broker outage an earlier test staged must not hold back this test's publishes.
        outbox._pause.clear()
        try:
            yield
        finally:
            _celery_pools_reset()
            outbox._pause.clear()


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, failing the test if it takes longer than ``seconds`` (it hangs)."""

    def run() -> T:
        try:
            return call()
        finally:
            connection.close()  # the thread's own database connection

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(run).result(timeout=seconds)
    except FutureTimeout:
        pytest.fail(f"still running after {seconds} s: it hangs")
    finally:
        pool.shutdown(wait=False)
