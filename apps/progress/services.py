"""State changes to learners' progress. Web views, API views, admin and tasks call these."""

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Step, Track
from apps.core.errors import ApplicationError
from apps.progress.models import (
    BulkAction,
    Enrollment,
    ProgressEvent,
    Source,
    Status,
    StepNote,
    StepProgress,
    SyncReceipt,
)

IDEMPOTENCY_KEY_MAX_LENGTH = 64


@dataclass(frozen=True)
class StatusChange:
    progress: StepProgress
    event: ProgressEvent | None
    #: True when this call changed the status (and recorded ``event``).
    changed: bool
    #: True when the idempotency key had been seen before: nothing was done.
    replayed: bool = False


@dataclass(frozen=True)
class _Rejection:
    #: The input at fault, and a stable code for it (offline sync reports the code).
    field: str
    reason: str
    message: str


def _change_rejection(
    *,
    status: str,
    occurred_at: datetime,
    now: datetime,
    step_id: int | None = None,
    published: Container[int] = (),
) -> _Rejection | None:
    """What is wrong with a status change a learner asks for, or None: one rule for the
    web, the API and offline sync.

    The status must be a step status; the step, when ``step_id`` is given, one of the
    ``published`` steps; the time must carry its zone and be at most
    ``STEPWISE_MAX_CLOCK_SKEW_SECONDS`` ahead of ``now``.
    """
    if status not in Status.values:
        return _Rejection(
            "status",
            "unknown_status",
            f"{status!r} is not a step status; use one of {', '.join(Status.values)}.",
        )
    if step_id is not None and step_id not in published:
        return _Rejection(
            "step_id", "unknown_step", f"There is no published step with id {step_id}."
        )
    if timezone.is_naive(occurred_at):
        return _Rejection(
            "occurred_at", "naive_timestamp", "The time of a change must include its time zone."
        )
    skew = settings.STEPWISE_MAX_CLOCK_SKEW_SECONDS
    if occurred_at > now + timedelta(seconds=skew):
        return _Rejection(
            "occurred_at",
            "future_timestamp",
            f"{occurred_at.isoformat()} is more than {skew} seconds in the future; "
            "check the device clock.",
        )
    return None


def _validate(status: str, occurred_at: datetime, now: datetime, key: str | None) -> None:
    rejection = _change_rejection(status=status, occurred_at=occurred_at, now=now)
    if rejection is not None:
        raise ApplicationError(rejection.message, extra={"field": rejection.field})
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApplicationError(
            f"An idempotency key has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            extra={"field": "idempotency_key"},
        )


def _learner_lock(user: User) -> None:
    """Serialise one learner's progress writes until the transaction ends.

    Their events then commit in id order, so a client pulling ``progress/changes``
    with the last id it saw never skips an event that committed late. NO KEY, so
    inserts that merely reference the user do not wait.
    """
    list(User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk"))


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
    has, changes nothing and records no event. Concurrent changes of one learner
    are serialised on their user row, as offline syncs are.
    """
    now = timezone.now()
    occurred_at = occurred_at or now
    _validate(status, occurred_at, now, idempotency_key)
    if connection.vendor == "postgresql" and idempotency_key is None:
        return _status_write(
            user=user, step=step, status=status, source=source, at=occurred_at, now=now
        )
    return _status_set_rows(user, step, status, source, occurred_at, now, idempotency_key)


@transaction.atomic
def _status_set_rows(
    user: User, step: Step, status: str, source: str, at: datetime, now: datetime, key: str | None
) -> StatusChange:
    """``step_status_set`` row by row through the ORM, under the learner's lock."""
    _learner_lock(user)
    progress, _ = StepProgress.objects.select_for_update().get_or_create(
        user=user, step=step, defaults={"status": Status.TODO, "status_changed_at": at}
    )
    # Checked under the row lock, so two racing replays cannot both pass.
    if key is not None:
        earlier = ProgressEvent.objects.filter(user=user, idempotency_key=key).first()
        if earlier is not None:
            return StatusChange(progress=progress, event=earlier, changed=False, replayed=True)
    if progress.status == status:
        return StatusChange(progress=progress, event=None, changed=False)

    previous = progress.status
    _status_stamp(progress, status=status, at=at)
    progress.save()
    event = ProgressEvent.objects.create(
        user=user,
        step=step,
        from_status=previous,
        to_status=status,
        occurred_at=at,
        source=source,
        idempotency_key=key,
    )
    _enrollment_touch(user=user, track_id=step.track_id, at=now)
    return StatusChange(progress=progress, event=event, changed=True)


# The statement of ``_status_write``. The learner's row lock comes first (every later
# part reads through it), as ``_learner_lock`` takes it for the row-by-row path, and is
# held until the statement commits. The progress row is then read locked (at its latest
# version), created or moved, the event recorded and the enrollment touched. It follows
# ``_status_stamp`` and ``_enrollment_touch`` exactly; the tests hold both paths to the
# same outcomes. A first change racing another first change of the same step finds the
# row missing from its snapshot and inserts nothing: no row comes back, and it runs again.
_STATUS_WRITE_SQL = """
WITH learner AS (
    SELECT id FROM accounts_user WHERE id = %(user)s FOR NO KEY UPDATE
), old AS (
    SELECT p.id, p.status, p.status_changed_at, p.started_at, p.completed_at, p.updated_at
    FROM progress_stepprogress p JOIN learner ON learner.id = p.user_id
    WHERE p.step_id = %(step)s FOR UPDATE OF p
), inserted AS (
    INSERT INTO progress_stepprogress
        (user_id, step_id, status, status_changed_at, started_at, completed_at, updated_at)
    SELECT learner.id, %(step)s, %(status)s, %(at)s, %(started)s, %(completed)s, %(now)s
    FROM learner WHERE NOT EXISTS (SELECT 1 FROM old)
    ON CONFLICT (user_id, step_id) DO NOTHING
    RETURNING id, status, status_changed_at, started_at, completed_at, updated_at
), updated AS (
    UPDATE progress_stepprogress AS p
    SET status = %(status)s, status_changed_at = %(at)s,
        started_at = COALESCE(p.started_at, %(started)s), completed_at = %(completed)s,
        updated_at = %(now)s
    FROM old WHERE p.id = old.id AND old.status <> %(status)s
    RETURNING p.id, p.status, p.status_changed_at, p.started_at, p.completed_at, p.updated_at
), written AS (
    SELECT * FROM inserted UNION ALL SELECT * FROM updated
), change AS (
    SELECT previous FROM (SELECT COALESCE((SELECT status FROM old), %(todo)s) AS previous) c
    WHERE previous <> %(status)s AND EXISTS (SELECT 1 FROM written)
), event AS (
    INSERT INTO progress_progressevent
        (user_id, step_id, from_status, to_status, occurred_at, recorded_at, source)
    SELECT %(user)s, %(step)s, previous, %(status)s, %(at)s, %(now)s, %(source)s FROM change
    RETURNING id, from_status, recorded_at
), enrollment AS (
    INSERT INTO progress_enrollment (user_id, track_id, started_at, last_activity_at)
    SELECT %(user)s, %(track)s, %(now)s, %(now)s FROM event
    ON CONFLICT (user_id, track_id) DO UPDATE SET last_activity_at =
        GREATEST(progress_enrollment.last_activity_at, EXCLUDED.last_activity_at)
)
SELECT row.*, event.id, event.from_status, event.recorded_at
FROM (SELECT * FROM written UNION ALL SELECT * FROM old WHERE old.status = %(status)s) row
LEFT JOIN event ON TRUE
"""


def _status_write(
    *, user: User, step: Step, status: str, source: str, at: datetime, now: datetime
) -> StatusChange:
    """``step_status_set`` on PostgreSQL in one statement, atomic by itself.

    A status click is the hottest write of the web; row by row through the ORM it
    costs up to eleven round trips (transaction and savepoints included).
    """
    params: dict[str, str | int | datetime | None] = {
        "user": user.pk,
        "step": step.pk,
        "track": step.track_id,
        "status": status,
        "at": at,
        "now": now,
        "started": at if status in (Status.IN_PROGRESS, Status.DONE) else None,
        "completed": at if status == Status.DONE else None,
        "todo": Status.TODO,
        "source": source,
    }
    row = None
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(_STATUS_WRITE_SQL, params)
            row = cursor.fetchone()
            if row is not None:
                break
    if row is None:
        raise ApplicationError("That change could not be saved; try again.")
    # Rows as the ORM would have loaded them: the columns the statement returns.
    progress = StepProgress.from_db(
        connection.alias,
        ["id", "status", "status_changed_at", "started_at", "completed_at", "updated_at"],
        row[:6],
    )
    progress.user, progress.step = user, step
    event_id, previous, recorded_at = row[6:]
    if event_id is None:
        return StatusChange(progress=progress, event=None, changed=False)
    event = ProgressEvent.from_db(
        connection.alias,
        ["id", "from_status", "recorded_at", "to_status", "occurred_at", "source"],
        [event_id, previous, recorded_at, status, at, source],
    )
    event.user, event.step = user, step
    return StatusChange(progress=progress, event=event, changed=True)


def _status_stamp(progress: StepProgress, *, status: str, at: datetime) -> None:
    """Move ``progress`` to ``status`` as of ``at``, with the times that go with it.

    The first move to in progress or done starts the step; done completes it, and any
    other status clears the completion. Not saved.
    """
    progress.status = status
    progress.status_changed_at = at
    if status in (Status.IN_PROGRESS, Status.DONE) and progress.started_at is None:
        progress.started_at = at
    progress.completed_at = at if status == Status.DONE else None


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


# --- offline sync -----------------------------------------------------------------------


class SyncOutcome:
    APPLIED = "applied"
    STALE = "stale"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SyncOperation:
    """One change a device queued while offline. ``op_id`` is unique per change."""

    op_id: str
    step_id: int
    status: str
    occurred_at: datetime


@dataclass(frozen=True)
class SyncOperationResult:
    op_id: str
    result: str
    step_id: int
    #: For ``applied``: whether the status changed (and an event was recorded).
    changed: bool = False
    #: For ``rejected``: a stable reason code and a sentence saying what is wrong.
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class SyncedStatus:
    step_id: int
    status: str
    status_changed_at: datetime | None


@dataclass(frozen=True)
class SyncResult:
    results: list[SyncOperationResult]
    #: The learner's status now on every known step the operations touched.
    statuses: list[SyncedStatus]
    #: The id of the learner's latest progress event: pull ``changes/?since=`` from here.
    cursor: int


@transaction.atomic
def progress_sync(*, user: User, operations: list[SyncOperation]) -> SyncResult:
    """Apply a batch of offline changes with last-write-wins by ``occurred_at``.

    Per operation: an ``op_id`` taken before (applied or stale, in an earlier sync or
    earlier in this batch) with the same step, status and time is a ``duplicate`` and does
    nothing; with anything else it is ``rejected`` as ``op_id_reused``. An unknown status,
    a step that is not published or a time more than the allowed clock skew in the future
    is ``rejected``; a rejected operation is not taken, so its ``op_id`` stays free. A
    change older than what the server holds for the step is ``stale``; otherwise it is
    ``applied`` (ties go to the later arrival) and, when the status changes, recorded as
    one event keyed by its ``op_id``. Operations on one step are applied in
    ``occurred_at`` order whatever order they arrive in, so the history is complete and
    the outcome does not depend on how the device queued them.

    The whole batch is one transaction with a bounded number of queries: syncs of one
    learner are serialised on their user row, progress rows are locked in step order.
    """
    now = timezone.now()
    _learner_lock(user)

    step_ids = sorted({op.step_id for op in operations})
    track_of: dict[int, int] = dict(
        Step.objects.current()
        .filter(pk__in=step_ids, track__is_published=True)
        .values_list("pk", "track_id")
    )
    # What each op_id taken before carried: the same again is a replay, another is a reuse.
    taken: dict[str, tuple[int, str, datetime]] = {
        op_id: (step_id, status, occurred_at)
        for op_id, step_id, status, occurred_at in SyncReceipt.objects.filter(
            user=user, op_id__in={op.op_id for op in operations}
        ).values_list("op_id", "step_id", "status", "occurred_at")
    }

    outcome: dict[int, SyncOperationResult] = {}
    eligible: list[tuple[int, SyncOperation]] = []
    for index, op in enumerate(operations):
        rejection = _change_rejection(
            status=op.status,
            occurred_at=op.occurred_at,
            now=now,
            step_id=op.step_id,
            published=track_of,
        )
        earlier = taken.get(op.op_id)
        if earlier is not None and earlier != (op.step_id, op.status, op.occurred_at):
            rejection = _op_id_reuse_rejection(op.op_id, *earlier)
        elif earlier is not None:
            outcome[index] = SyncOperationResult(op.op_id, SyncOutcome.DUPLICATE, op.step_id)
            continue
        if rejection is not None:
            outcome[index] = SyncOperationResult(
                op.op_id,
                SyncOutcome.REJECTED,
                op.step_id,
                reason=rejection.reason,
                message=rejection.message,
            )
        else:
            taken[op.op_id] = (op.step_id, op.status, op.occurred_at)
            eligible.append((index, op))

    known_steps = [step_id for step_id in step_ids if step_id in track_of]
    rows = _progress_rows_locked(user=user, step_ids=known_steps)
    missing = sorted({op.step_id for _, op in eligible} - rows.keys())
    if missing:
        first_at: dict[int, datetime] = {}
        for _, op in eligible:
            if op.step_id in missing:
                first_at[op.step_id] = min(first_at.get(op.step_id, op.occurred_at), op.occurred_at)
        # A concurrent writer may create the same rows: theirs win, then we lock them.
        StepProgress.objects.bulk_create(
            [
                StepProgress(
                    user=user,
                    step_id=step_id,
                    status=Status.TODO,
                    status_changed_at=first_at[step_id],
                )
                for step_id in missing
            ],
            ignore_conflicts=True,
        )
        rows.update(_progress_rows_locked(user=user, step_ids=missing))

    events: list[ProgressEvent] = []
    written: dict[int, StepProgress] = {}
    eligible.sort(key=lambda pair: (pair[1].occurred_at, pair[0]))
    for index, op in eligible:
        progress = rows[op.step_id]
        if op.occurred_at < progress.status_changed_at:
            outcome[index] = SyncOperationResult(op.op_id, SyncOutcome.STALE, op.step_id)
            continue
        changed = progress.status != op.status
        if changed:
            events.append(
                ProgressEvent(
                    user=user,
                    step_id=op.step_id,
                    from_status=progress.status,
                    to_status=op.status,
                    occurred_at=op.occurred_at,
                    source=Source.API,
                    idempotency_key=op.op_id,
                )
            )
            _status_stamp(progress, status=op.status, at=op.occurred_at)
        else:
            # The same status, said later: last-write-wins now dates from this operation.
            progress.status_changed_at = op.occurred_at
        progress.updated_at = now
        written[op.step_id] = progress
        outcome[index] = SyncOperationResult(
            op.op_id, SyncOutcome.APPLIED, op.step_id, changed=changed
        )

    if written:
        # Every row exists and is locked: the upsert is one UPDATE per batch.
        _progress_rows_upsert([written[step_id] for step_id in sorted(written)])
    if eligible:
        # Applied or stale, each is taken: its op_id is answered ``duplicate`` from now on.
        SyncReceipt.objects.bulk_create(
            SyncReceipt(
                user=user,
                op_id=op.op_id,
                step_id=op.step_id,
                status=op.status,
                occurred_at=op.occurred_at,
                recorded_at=now,
            )
            for _, op in eligible
        )
    if events:
        ProgressEvent.objects.bulk_create(events)
        _enrollments_touch(user=user, track_ids={track_of[e.step_id] for e in events}, at=now)
    cursor = ProgressEvent.objects.filter(user=user).aggregate(latest=Max("pk"))["latest"] or 0
    return SyncResult(
        results=[outcome[index] for index in range(len(operations))],
        statuses=[
            SyncedStatus(step_id, rows[step_id].status, rows[step_id].status_changed_at)
            if step_id in rows
            else SyncedStatus(step_id, Status.TODO, None)
            for step_id in known_steps
        ],
        cursor=cursor,
    )


def _op_id_reuse_rejection(
    op_id: str, step_id: int, status: str, occurred_at: datetime
) -> _Rejection:
    return _Rejection(
        "op_id",
        "op_id_reused",
        f"op_id {op_id} was already used for another change (step {step_id} {status} at "
        f"{occurred_at.isoformat()}); give every change its own op_id.",
    )


def _progress_rows_upsert(rows: list[StepProgress]) -> None:
    """Write the learner's progress rows (moved by ``_status_stamp``) in one statement."""
    StepProgress.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user", "step"],
        update_fields=["status", "status_changed_at", "started_at", "completed_at", "updated_at"],
    )


def _progress_rows_locked(*, user: User, step_ids: list[int]) -> dict[int, StepProgress]:
    if not step_ids:
        return {}
    rows = StepProgress.objects.select_for_update().filter(user=user, step_id__in=step_ids)
    return {row.step_id: row for row in rows.order_by("step_id")}


def _enrollments_touch(*, user: User, track_ids: set[int], at: datetime) -> None:
    """Enroll in the tracks not yet followed and note activity in the others: two queries."""
    Enrollment.objects.bulk_create(
        [
            Enrollment(user=user, track_id=track_id, started_at=at, last_activity_at=at)
            for track_id in sorted(track_ids)
        ],
        ignore_conflicts=True,
    )
    Enrollment.objects.filter(user=user, track_id__in=track_ids, last_activity_at__lt=at).update(
        last_activity_at=at
    )


# --- notes -------------------------------------------------------------------------------


def step_note_set(*, user: User, step: Step, body: str, links: list[str]) -> StepNote:
    """Keep the learner's private Markdown note and links on a step (replacing any earlier
    one). An empty body with no links clears the note.

    The body has at most ``STEPWISE_NOTE_MAX_CHARS`` characters; the links at most
    ``STEPWISE_NOTE_MAX_LINKS`` http(s) URLs. Anything past a limit is refused with the
    reason, and nothing is saved.
    """
    limit = settings.STEPWISE_NOTE_MAX_CHARS
    if len(body) > limit:
        raise ApplicationError(
            f"A note has at most {limit:,} characters; this one has {len(body):,}.",
            extra={"field": "body"},
        )
    links = [link.strip() for link in links if link.strip()]
    most = settings.STEPWISE_NOTE_MAX_LINKS
    if len(links) > most:
        raise ApplicationError(
            f"A note keeps at most {most} links; this one has {len(links)}.",
            extra={"field": "links"},
        )
    for link in links:
        if len(link) > NOTE_LINK_MAX_LENGTH:
            raise ApplicationError(
                f"A link has at most {NOTE_LINK_MAX_LENGTH} characters.", extra={"field": "links"}
            )
        try:
            _note_link_validate(link)
        except ValidationError:
            raise ApplicationError(
                f"{link!r} is not a web address; links start with http:// or https://.",
                extra={"field": "links"},
            ) from None
    note, _ = StepNote.objects.update_or_create(
        user=user, step=step, defaults={"body": body, "links": links}
    )
    return note


NOTE_LINK_MAX_LENGTH = 500
_note_link_validate = URLValidator(schemes=["http", "https"])


# --- bulk actions -----------------------------------------------------------------------

BULK_TARGET = {BulkAction.Kind.MARK_DONE: Status.DONE, BulkAction.Kind.RESET: Status.TODO}


@dataclass(frozen=True)
class BulkResult:
    action: BulkAction
    #: True when the idempotency key (or, for an undo, the action) had been seen before:
    #: nothing was done this time.
    replayed: bool


def _bulk_replay(*, user: User, key: str | None, kind: str, track_id: int) -> BulkAction | None:
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ApplicationError(
            f"An idempotency key has 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            extra={"field": "idempotency_key"},
        )
    earlier = BulkAction.objects.filter(user=user, idempotency_key=key).first()
    if earlier is not None and (earlier.kind != kind or earlier.track_id != track_id):
        raise ApplicationError(
            "This idempotency key was used for another action; use a new key for each action.",
            extra={"field": "idempotency_key"},
        )
    return earlier


@transaction.atomic
def track_bulk_set(
    *,
    user: User,
    track: Track,
    kind: str,
    source: str = Source.WEB,
    idempotency_key: str | None = None,
) -> BulkResult:
    """Mark every current step of the track done (``mark_done``) or to do (``reset``).

    One action, recorded as one event per changed step, all pointing at it, so it can
    be undone as a whole (``bulk_action_undo``); those events are not study, so the
    streak ignores them. Idempotent with a key: the same key again returns the first
    action and changes nothing.
    """
    if kind not in BULK_TARGET:
        raise ApplicationError(
            f"{kind!r} is not a bulk action; use one of {', '.join(BULK_TARGET)}.",
            extra={"field": "action"},
        )
    _learner_lock(user)
    earlier = _bulk_replay(user=user, key=idempotency_key, kind=kind, track_id=track.pk)
    if earlier is not None:
        return BulkResult(earlier, replayed=True)
    target = BULK_TARGET[BulkAction.Kind(kind)]
    now = timezone.now()
    step_ids = list(
        Step.objects.filter(track=track, retired_at__isnull=True)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    rows = _progress_rows_locked(user=user, step_ids=step_ids)
    action = BulkAction.objects.create(
        user=user, track=track, kind=kind, source=source, idempotency_key=idempotency_key
    )
    changes: list[tuple[StepProgress, str, list[str | None] | None]] = []
    for step_id in step_ids:
        progress = rows.get(step_id) or StepProgress(
            user=user, step_id=step_id, status=Status.TODO, status_changed_at=now
        )
        if progress.status != target:
            changes.append((progress, target, None))
    _bulk_write(user=user, action=action, changes=changes, now=now)
    return BulkResult(action, replayed=False)


@transaction.atomic
def bulk_action_undo(*, user: User, action: BulkAction, source: str = Source.WEB) -> BulkResult:
    """Undo the learner's bulk ``action``: each step it changed goes back to where it
    was, with its start and completion times, unless the learner changed that step since
    (their later change stands). Undoing twice changes nothing the second time.
    """
    if action.user_id != user.pk or action.kind == BulkAction.Kind.UNDO:
        raise ApplicationError("Only your own mark-all or reset can be undone.")
    _learner_lock(user)
    done = BulkAction.objects.filter(undoes=action).first()
    if done is not None:
        return BulkResult(done, replayed=True)
    now = timezone.now()
    events = list(action.events.order_by("id"))
    rows = _progress_rows_locked(user=user, step_ids=[e.step_id for e in events])
    undo = BulkAction.objects.create(
        user=user, track_id=action.track_id, kind=BulkAction.Kind.UNDO, undoes=action, source=source
    )
    changes: list[tuple[StepProgress, str, list[str | None] | None]] = []
    for event in events:
        progress = rows[event.step_id]
        if progress.status == event.to_status:
            changes.append((progress, event.from_status, action.before.get(str(event.step_id))))
    _bulk_write(user=user, action=undo, changes=changes, now=now)
    return BulkResult(undo, replayed=False)


def _bulk_write(
    *,
    user: User,
    action: BulkAction,
    changes: list[tuple[StepProgress, str, list[str | None] | None]],
    now: datetime,
) -> None:
    """Move each ``(progress, status, restore)`` of ``changes`` to its status as part of
    ``action``: one upsert of the rows, one insert of the events. ``restore`` (an undo's)
    gives back the step's start and completion times; a forward action keeps them in
    ``action.before`` for its undo."""
    before: dict[str, list[str | None]] = {}
    events = []
    for progress, status, restore in changes:
        before[str(progress.step_id)] = [
            progress.status,
            _iso(progress.started_at),
            _iso(progress.completed_at),
        ]
        events.append(
            ProgressEvent(
                user=user,
                step_id=progress.step_id,
                from_status=progress.status,
                to_status=status,
                occurred_at=now,
                source=action.source,
                bulk=action,
            )
        )
        _status_stamp(progress, status=status, at=now)
        if restore is not None:
            progress.started_at = _parse_iso(restore[1])
            progress.completed_at = _parse_iso(restore[2])
        progress.updated_at = now
    if changes:
        _progress_rows_upsert([progress for progress, _, _ in changes])
        ProgressEvent.objects.bulk_create(events)
        _enrollments_touch(user=user, track_ids={action.track_id}, at=now)
    action.steps_changed = len(changes)
    if action.kind != BulkAction.Kind.UNDO:
        action.before = before
    action.save(update_fields=["steps_changed", "before"])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
