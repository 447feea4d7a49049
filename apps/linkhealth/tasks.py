"""Celery tasks: take ids, call a service. Safe to retry or deliver twice."""

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings

from apps.linkhealth import services
from apps.linkhealth.checker import http_client_preload


@worker_process_init.connect
def _http_client_preload(**kwargs: Any) -> None:
    """Each pool process loads the checker's HTTP client when it starts, not in its first
    chunk (the master process, which checks nothing, never loads it)."""
    http_client_preload()


@shared_task
def links_check_due() -> int | None:
    """Hourly: open a run over the due links and fan its chunks out to the workers."""
    run = services.links_check_due_start()
    return run.pk if run else None


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
    acks_late=True,
    reject_on_worker_lost=True,
    # Longer than other tasks: slow hosts, retries and Retry-After waits. At the soft limit
    # the task is retried, and the retry checks only the URLs not recorded yet.
    soft_time_limit=settings.LINK_CHECK_CHUNK_SOFT_TIME_LIMIT,
    time_limit=settings.LINK_CHECK_CHUNK_TIME_LIMIT,
)
def links_check_chunk(run_id: int, chunk: int) -> int:
    """Check one chunk; a retry or redelivery skips the URLs already recorded in the run."""
    recorded = 0

    def counted(_result: object) -> None:
        nonlocal recorded
        recorded += 1

    # Nothing kept once recorded: a chunk of thousands of links stays small in memory.
    services.link_chunk_check(run_id=run_id, chunk=chunk, on_result=counted, collect=False)
    return recorded


@shared_task
def link_digest_send() -> int | None:
    digest = services.link_digest_send()
    return digest.pk if digest else None
