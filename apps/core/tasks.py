"""Celery tasks of the core: the outbox relay; and what every worker process does first."""

import gc
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.urls import get_resolver

from apps.core import outbox


def worker_process_prepare() -> None:
    """Load once, when a worker process starts, what its first task would otherwise load.

    - The URL configuration, which imports every app's views: an email's links are
      reversed, and the first reverse() in a process cost its task about half a second.
    - Then everything loaded so far (Django, Celery, every app: hundreds of thousands of
      objects that live as long as the process) is moved out of the garbage collector's
      reach (``gc.freeze``), so its full collections stop walking them again and again
      in the middle of a chunk. New objects are collected as before.
    """
    get_resolver().reverse_dict  # noqa: B018 - populating it is the point
    gc.freeze()


@worker_process_init.connect
def _worker_process_prepare(**kwargs: Any) -> None:
    worker_process_prepare()


@shared_task
def outbox_relay() -> int:
    """Every 30 s (beat): publish the outbox messages left pending, e.g. by a broker outage.

    Idempotent: rows are claimed with SKIP LOCKED, so overlapping runs share the work.
    """
    return outbox.outbox_relay().sent
