"""Celery tasks of the core: the outbox relay."""

from celery import shared_task

from apps.core import outbox


@shared_task
def outbox_relay() -> int:
    """Every 30 s (beat): publish the outbox messages left pending, e.g. by a broker outage.

    Idempotent: rows are claimed with SKIP LOCKED, so overlapping runs share the work.
    """
    return outbox.outbox_relay().sent
