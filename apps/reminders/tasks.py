"""Celery tasks: thin wrappers that take ids or a moment and call the services."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.reminders import services
from apps.reminders.selectors import moment_parse


@shared_task(name="reminders.send_due")
def reminders_send_due(moment: str | None = None) -> int:
    """The beat task (each window of REMINDERS_WINDOW_MINUTES): decide who is due now and
    fan out the sends.

    Also hands out deliveries whose send task was lost, and decides the window before (in
    case the last run came late or never).

    ``moment`` (ISO-8601; a time without zone is UTC) re-runs a past window; a re-run sends
    nothing already sent.
    """
    services.reminder_deliveries_resume_interrupted()
    services.reminder_deliveries_resend_pending()
    now = moment_parse(moment) if moment else timezone.now()
    results = services.reminders_due_catch_up(now=now)
    return sum(len(result.created_ids) for result in results)


@shared_task(name="reminders.send_chunk", acks_late=True)
def reminders_send_chunk(delivery_ids: list[int]) -> int:
    """Send a chunk of deliveries over one connection; failures come back later, with backoff.

    Idempotent: only deliveries still pending are sent, so a duplicate or retried task
    sends nothing twice.
    """
    outcome = services.reminder_deliveries_send(delivery_ids=delivery_ids)
    if outcome.retry:
        # Straight to the broker, not through the outbox: this runs on a worker, which just
        # received this task from the broker, and no request waits on it. Should the publish
        # fail all the same, nothing is lost: the failed deliveries are already recorded as
        # pending (claimed_at stamped), and the beat's sweep, reminder_deliveries_resend_pending,
        # hands them out again after REMINDERS_PENDING_RESEND_MINUTES.
        reminders_send_chunk.apply_async(args=(outcome.retry,), countdown=outcome.retry_in)
    return len(outcome.sent)


@shared_task(
    name="reminders.usual_hours_refresh",
    # It reads weeks of every learner's progress: longer than other tasks. Stopped half-way,
    # the next day's run recomputes everyone anyway.
    soft_time_limit=settings.REMINDERS_USUAL_HOURS_SOFT_TIME_LIMIT,
    time_limit=settings.REMINDERS_USUAL_HOURS_TIME_LIMIT,
)
def reminders_usual_hours_refresh() -> int:
    """Daily: recompute "when I usually study" for learners who leave the hour empty."""
    return services.reminder_usual_hours_refresh()
