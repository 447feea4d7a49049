"""Celery tasks of the curator dashboard. Safe to retry or deliver twice."""

from celery import shared_task
from django.conf import settings

from apps.curation import services


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.CURATION_REFRESH_SOFT_TIME_LIMIT,
    time_limit=settings.CURATION_REFRESH_TIME_LIMIT,
)
def curation_refresh_task(full: bool = False) -> int:
    """Every 15 minutes (beat) and on a curator's request: bring the figures up to date;
    nightly with ``full`` (beat). Idempotent, so a redelivery only finds nothing new."""
    return services.curation_refresh(full=full).events_read
