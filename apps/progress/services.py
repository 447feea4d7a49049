"""State changes to learners' progress. Web views, API views, admin and tasks call these."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Step
from apps.core.errors import ApplicationError
from apps.progress.models import Enrollment, ProgressEvent, Source, Status, StepProgress

# Every status can be left for any other: learners decide, and can undo a slip.
# The table is explicit so that tightening a rule later is a one-line change.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    current: frozenset(Status.values) - {current} for current in Status.values
}
IDEMPOTENCY_KEY_MAX_LENGTH = 64


@dataclass(frozen=True)
class StatusChange:
    progress: StepProgress
    event: ProgressEvent | None
    #: True when this call changed the status (and recorded ``event``).
    changed: bool
    #: True when the idempotency key had been seen before: nothing was done.
    replayed: bool = False


def _validate(status: str, occurred_at: datetime, now: datetime, key: str | None) -> None:
    if status not in Status.values:
        raise ApplicationError(
            f"{status!r} is not a step status; use one of {', '.join(Status.values)}.",
            extra={"field": "status"},
        )
    if timezone.is_naive(occurred_at):
        raise ApplicationError(
            "The time of a change must include its time zone.", extra={"field": "occurred_at"}
        )
    skew = timedelta(seconds=settings.STEPWISE_MAX_CLOCK_SKEW_SECONDS)
    if occurred_at > now + skew:
        raise ApplicationError(
            f"{occurred_at.isoformat()} is more than {int(skew.total_seconds())} seconds in the "
            "future; check the device clock.",
            extra={"field": "occurred_at"},
        )
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApplicationError(
            f"An idempotency key has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            extra={"field": "idempotency_key"},
        )


@transaction.atomic
def step_status_set(
    *,
    user: User,
    step: Step,
    status: str,
    source: str = Source.WEB,
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> StatusChange:
    """Set the learner's status on a step, record the change and enroll them in its track.

    Idempotent: a repeated ``idempotency_key``, or the status the step already
    has, changes nothing and records no event. Concurrent calls for the same
    learner and step are serialised on the progress row.
    """
    now = timezone.now()
    occurred_at = occurred_at or now
    _validate(status, occurred_at, now, idempotency_key)

    progress, _ = StepProgress.objects.select_for_update().get_or_create(
        user=user, step=step, defaults={"status": Status.TODO, "status_changed_at": occurred_at}
    )
    # Checked under the row lock, so two racing replays cannot both pass.
    if idempotency_key is not None:
        earlier = ProgressEvent.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return StatusChange(progress=progress, event=earlier, changed=False, replayed=True)
    if progress.status == status:
        return StatusChange(progress=progress, event=None, changed=False)
    if status not in ALLOWED_TRANSITIONS[progress.status]:
        raise ApplicationError(
            f"A step cannot go from {progress.status} to {status}.", extra={"field": "status"}
        )

    previous = progress.status
    progress.status = status
    progress.status_changed_at = occurred_at
    if status in (Status.IN_PROGRESS, Status.DONE) and progress.started_at is None:
        progress.started_at = occurred_at
    progress.completed_at = occurred_at if status == Status.DONE else None
    progress.save()
    event = ProgressEvent.objects.create(
        user=user,
        step=step,
        from_status=previous,
        to_status=status,
        occurred_at=occurred_at,
        source=source,
        idempotency_key=idempotency_key,
    )
    _enrollment_touch(user=user, track_id=step.track_id, at=now)
    return StatusChange(progress=progress, event=event, changed=True)


@transaction.atomic
def track_enroll(*, user: User, track_id: int, at: datetime | None = None) -> Enrollment:
    """Enroll the learner in a track, or note new activity if they already are."""
    return _enrollment_touch(user=user, track_id=track_id, at=at or timezone.now())


def _enrollment_touch(*, user: User, track_id: int, at: datetime) -> Enrollment:
    enrollment, created = Enrollment.objects.get_or_create(
        user=user, track_id=track_id, defaults={"started_at": at, "last_activity_at": at}
    )
    if not created and enrollment.last_activity_at < at:
        Enrollment.objects.filter(pk=enrollment.pk).update(last_activity_at=at)
        enrollment.last_activity_at = at
    return enrollment
