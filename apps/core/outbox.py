"""The transactional outbox: Celery tasks that survive a broker outage.

A service that hands work to Celery calls ``outbox_enqueue`` inside its transaction. The
message is a row written in that transaction, so it exists exactly when the change it
follows was committed. On commit it is published at once and marked sent; if the broker is
down the row stays pending and the request goes on (no 500, no hang: publishing does not
retry and the broker connection gives up after ``CELERY_BROKER_CONNECTION_TIMEOUT``). The
relay (``outbox_relay``: a beat task every 30 s, or ``manage.py relay_outbox``) publishes
pending rows once the broker answers again, backing off while it does not.

A message may be published twice (a process dying between publishing and recording it),
never lost; every task enqueued here is idempotent, so a second delivery changes nothing.
"""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.core.models import OutboxMessage

logger = logging.getLogger(__name__)

#: What a broker that is down, unreachable or silent raises.
BROKER_ERRORS = (OperationalError, OSError)


class _PublishPause:
    """After a failed publish, this process leaves new messages to the relay for a while,
    so an outage costs one request a broker timeout rather than every request."""

    def __init__(self) -> None:
        self._until = 0.0

    def start(self) -> None:
        self._until = time.monotonic() + settings.OUTBOX_PUBLISH_PAUSE_SECONDS

    def clear(self) -> None:
        self._until = 0.0

    @property
    def active(self) -> bool:
        return time.monotonic() < self._until


_pause = _PublishPause()


def outbox_enqueue(
    task: Task,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    countdown: float | None = None,
) -> OutboxMessage | None:
    """Have ``task`` run once the caller's transaction commits, even if the broker is down.

    ``args`` and ``kwargs`` must be JSON (as Celery's serializer wants them anyway). With a
    ``countdown`` the message waits that many seconds in the outbox and the relay publishes
    it. With eager Celery (no broker: development and tests) the task runs on commit, as
    ``task.delay`` did, and no row is kept (None is returned).
    """
    if current_app.conf.task_always_eager:
        transaction.on_commit(lambda: task.apply_async(args=tuple(args), kwargs=kwargs))
        return None
    now = timezone.now()
    message = OutboxMessage.objects.create(
        task=task.name,
        args=list(args),
        kwargs=kwargs or {},
        created_at=now,
        available_at=now + timedelta(seconds=countdown or 0),
    )
    if not countdown:
        transaction.on_commit(lambda: _publish_now(message.pk))
    return message


def _publish_now(message_id: int) -> None:
    """Publish a just-committed message; never raises (the relay is the fallback)."""
    if _pause.active:
        return
    try:
        with transaction.atomic():
            # Skips the row when a relay holds it: one of the two publishes it, never both.
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, sent_at__isnull=True)
                .first()
            )
            if message is None:
                return
            try:
                _publish(message)
            except Exception as exc:
                _failure_record(message, exc)
                return
            message.sent_at = timezone.now()
            message.save(update_fields=["sent_at"])
    except Exception:
        # The caller's work is committed and the row is pending: the relay will publish it.
        logger.exception("Outbox message %s not published now; the relay will.", message_id)


def _publish(message: OutboxMessage) -> None:
    app = current_app
    if app.conf.task_always_eager:
        app.tasks[message.task].apply_async(args=tuple(message.args), kwargs=message.kwargs)
        return
    app.send_task(message.task, args=message.args, kwargs=message.kwargs, retry=False)


def _failure_record(message: OutboxMessage, exc: Exception, now: datetime | None = None) -> None:
    """Back the message off: BACKOFF * 2**(attempts-1) seconds, capped."""
    now = now or timezone.now()
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    backoff = min(
        settings.OUTBOX_RETRY_BACKOFF_SECONDS * 2 ** (message.attempts - 1),
        settings.OUTBOX_RETRY_BACKOFF_MAX_SECONDS,
    )
    message.available_at = now + timedelta(seconds=backoff)
    message.save(update_fields=["attempts", "last_error", "available_at"])
    if isinstance(exc, BROKER_ERRORS):
        _pause.start()
        logger.warning(
            "Broker unavailable; outbox message %s (%s) stays pending: %s",
            message.pk,
            message.task,
            message.last_error,
        )
    else:
        logger.error(
            "Outbox message %s (%s) could not be published: %s",
            message.pk,
            message.task,
            message.last_error,
            exc_info=exc,
        )


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    #: Sent rows past ``OUTBOX_KEEP_SENT_HOURS``, deleted.
    pruned: int = 0


def outbox_relay(*, max_seconds: float | None = None) -> RelayResult:
    """Publish the pending messages that are due, a batch per transaction, oldest first.

    Rows are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``, so relays running side by
    side, and requests publishing their own messages, never publish a row twice. A failed
    message is backed off; a broker error ends the run (the broker is down: the rest waits
    for the next run, instead of each waiting out a timeout). No new batch is started after
    ``max_seconds`` (``OUTBOX_RELAY_MAX_SECONDS``). Sent rows older than
    ``OUTBOX_KEEP_SENT_HOURS`` are deleted.
    """
    budget = settings.OUTBOX_RELAY_MAX_SECONDS if max_seconds is None else max_seconds
    deadline = time.monotonic() + budget
    size = settings.OUTBOX_RELAY_BATCH_SIZE
    result = RelayResult()
    broker_down = False
    while not broker_down and time.monotonic() < deadline:
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, available_at__lte=now)
                .order_by("available_at", "id")[:size]
            )
            sent: list[int] = []
            for message in batch:
                try:
                    _publish(message)
                except Exception as exc:
                    _failure_record(message, exc, now)
                    result.failed += 1
                    if isinstance(exc, BROKER_ERRORS):
                        broker_down = True
                        break
                else:
                    sent.append(message.pk)
            OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now())
            result.sent += len(sent)
        if sent and not broker_down:
            _pause.clear()  # the broker answers again: requests may publish at once
        if len(batch) < size:
            break
    keep = timedelta(hours=settings.OUTBOX_KEEP_SENT_HOURS)
    result.pruned, _ = OutboxMessage.objects.filter(sent_at__lt=timezone.now() - keep).delete()
    return result
