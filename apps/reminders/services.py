"""State changes for reminders. Views, API views, admin, tasks and commands call these."""

import time
import uuid
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, TextField, Value, When
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.accounts.models import User
from apps.core.mail import messages_send_each
from apps.core.outbox import outbox_enqueue
from apps.progress.models import ProgressEvent
from apps.reminders.emails import reminder_message_render
from apps.reminders.models import (
    BeatScheduleSync,
    DeliveryKind,
    DeliveryStatus,
    Frequency,
    ReminderDelivery,
    ReminderPreferences,
)
from apps.reminders.selectors import (
    SCHEDULED_KINDS,
    Decision,
    Selection,
    reminder_email_contexts,
    reminders_due_select,
    window_crontab,
    zone_for,
)

TURNED_OFF = "Not sent: the learner turned reminders off."
TIME_LIMIT = "Not sent: the send task reached its time limit first."
OUT_OF_LEASE = "Not sent: the send task ran past half its claim; handed back."
INTERRUPTED = "Interrupted while sending (worker lost) on every attempt."

EDITABLE_FIELDS = ("reminder_frequency", "reminder_weekday", "reminder_hour", "weekly_goal")


@transaction.atomic
def reminder_preferences_update(*, user: User, **changes: Any) -> ReminderPreferences:
    """Change any of the four preference fields; creates the row on first use.

    Raises ``ValidationError`` with one message per field at fault (unknown fields included)
    and changes nothing then. Clearing the hour ("when I usually study") computes the
    learner's usual hour at once.
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            dict.fromkeys(unknown, "This is not a reminder preference."), code="unknown"
        )
    preferences, _ = ReminderPreferences.objects.select_for_update().get_or_create(user=user)
    for name, value in changes.items():
        setattr(preferences, name, value)
    preferences.full_clean(exclude=["user"])
    if preferences.reminder_hour is None and preferences.usual_hour_computed_at is None:
        now = timezone.now()
        preferences.usual_hour = _usual_hours(users=[(user.pk, user.timezone)], now=now).get(
            user.pk
        )
        preferences.usual_hour_computed_at = now
    preferences.save()
    return preferences


@transaction.atomic
def reminders_unsubscribe(*, user: User) -> ReminderPreferences:
    """Turn the learner's reminders off (the one-click unsubscribe)."""
    preferences, _ = ReminderPreferences.objects.select_for_update().get_or_create(user=user)
    preferences.reminder_frequency = "off"
    preferences.unsubscribed_at = timezone.now()
    preferences.save(update_fields=["reminder_frequency", "unsubscribed_at", "updated_at"])
    return preferences


@transaction.atomic
def reminders_keep_on(*, user: User, at: datetime | None = None) -> ReminderPreferences:
    """The learner keeps reminders on after they paused: counting unanswered ones restarts."""
    preferences, _ = ReminderPreferences.objects.select_for_update().get_or_create(user=user)
    preferences.kept_on_at = at or timezone.now()
    preferences.save(update_fields=["kept_on_at", "updated_at"])
    return preferences


# --- "when I usually study" --------------------------------------------------------------


def _usual_hours(*, users: Iterable[tuple[int, str]], now: datetime) -> dict[int, int]:
    """Per learner, the local hour they most often made progress at lately (1 query).

    Ties go to the hour of the most recent progress among them. Learners without
    progress in the period are absent.
    """
    zones = dict(users)
    since = now - timedelta(days=settings.REMINDERS_USUAL_HOUR_DAYS)
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    latest: dict[tuple[int, int], datetime] = {}
    rows = ProgressEvent.objects.filter(user_id__in=list(zones), occurred_at__gte=since)
    for user_id, occurred_at in rows.order_by().values_list("user_id", "occurred_at"):
        try:
            hour = timezone.localtime(occurred_at, zone_for(zones[user_id])).hour
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # A zone the database does not know: this learner keeps the default hour.
            continue
        counts[user_id][hour] += 1
        key = (user_id, hour)
        latest[key] = max(latest.get(key, occurred_at), occurred_at)
    usual: dict[int, int] = {}
    for user_id, per_hour in counts.items():
        usual[user_id] = max(per_hour, key=lambda h: (per_hour[h], latest[(user_id, h)]))
    return usual


def reminder_usual_hours_refresh(*, now: datetime | None = None) -> int:
    """Recompute the usual study hour of every learner who lets Stepwise pick the hour.

    Works in batches (a few queries each); creates preference rows with the defaults for
    learners who have none. Returns how many learners were refreshed.
    """
    now = now or timezone.now()
    batch_size = settings.REMINDERS_USUAL_HOUR_BATCH_SIZE
    learners = (
        User.objects.filter(is_active=True)
        .exclude(reminder_preferences__reminder_hour__isnull=False)
        .order_by("pk")
        .values_list("pk", "timezone")
    )
    refreshed = 0
    last_pk = 0
    while True:
        batch = list(learners.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return refreshed
        last_pk = batch[-1][0]
        hours = _usual_hours(users=batch, now=now)
        with transaction.atomic():
            ReminderPreferences.objects.bulk_create(
                [
                    ReminderPreferences(
                        user_id=pk, usual_hour=hours.get(pk), usual_hour_computed_at=now
                    )
                    for pk, _ in batch
                ],
                update_conflicts=True,
                unique_fields=["user"],
                update_fields=["usual_hour", "usual_hour_computed_at"],
            )
        refreshed += len(batch)


# --- deciding and sending ----------------------------------------------------------------


@dataclass
class ScheduleResult:
    selection: Selection
    #: Deliveries this run created (another run may have created the rest first).
    created_ids: list[int] = field(default_factory=list)


def reminders_due_schedule(*, now: datetime) -> ScheduleResult:
    """Decide who gets which reminder for ``now``'s window and record one delivery each.

    The decision is taken once; its deliveries are recorded a send chunk at a time
    (``REMINDERS_SEND_CHUNK_SIZE``), and each chunk is handed to a send task as soon as it
    commits: the first emails go out while the rest are still being recorded. The unique
    (learner, kind, window) constraint makes a second run, a second beat or a retried task
    create nothing; only the rows this run created are handed over. A run that dies half
    way leaves the rest to the next beat's catch-up, which decides this window again
    (``reminders_due_catch_up``).
    """
    selection = reminders_due_select(now=now)
    result = ScheduleResult(selection=selection)
    to_send, size = selection.to_send, settings.REMINDERS_SEND_CHUNK_SIZE
    for offset in range(0, len(to_send), size):
        with transaction.atomic():
            created = _deliveries_record(
                decisions=to_send[offset : offset + size], moment=selection.moment
            )
            _send_in_chunks(created)
        result.created_ids += created
    return result


def _deliveries_record(*, decisions: list[Decision], moment: datetime) -> list[int]:
    """One delivery row per decision, unless the learner has theirs for the window: the ids
    of the rows created."""
    run_id = uuid.uuid4()
    ReminderDelivery.objects.bulk_create(
        [
            ReminderDelivery(
                user_id=decision.user_id,
                kind=decision.kind or "",
                window=decision.window,
                due_at=moment,
                steps_to_goal=decision.steps_to_goal,
                run_id=run_id,
            )
            for decision in decisions
        ],
        ignore_conflicts=True,
    )
    return list(
        ReminderDelivery.objects.filter(run_id=run_id).order_by("pk").values_list("pk", flat=True)
    )


def reminders_due_catch_up(*, now: datetime) -> list[ScheduleResult]:
    """Decide ``now``'s window and the ``REMINDERS_CATCH_UP_WINDOWS`` before it, oldest first.

    A beat run a moment late, or a beat that was down, would otherwise skip a window for
    good. Each window commits on its own; a window decided before creates nothing again
    (the learners already have their delivery for the day, see ``reminders_due_schedule``).
    """
    step = timedelta(minutes=settings.REMINDERS_WINDOW_MINUTES)
    return [
        reminders_due_schedule(now=now - step * n)
        for n in range(settings.REMINDERS_CATCH_UP_WINDOWS, -1, -1)
    ]


@transaction.atomic
def reminder_test_send(*, user: User, now: datetime | None = None) -> ReminderDelivery:
    """Send the learner (a staff member trying it out) a reminder now, whatever the rules."""
    now = now or timezone.now()
    delivery = ReminderDelivery.objects.create(
        user=user, kind=DeliveryKind.TEST, window=now.isoformat(), due_at=now
    )
    _send_in_chunks([delivery.pk])
    return delivery


def _send_in_chunks(delivery_ids: list[int]) -> None:
    """Hand the deliveries to the send tasks, in chunks, once the caller's transaction commits.

    Through the outbox: with the broker down the sends wait there (and the caller, a staff
    member's test send included, goes on) instead of failing or being lost.
    """
    from apps.reminders.tasks import reminders_send_chunk

    size = settings.REMINDERS_SEND_CHUNK_SIZE
    for offset in range(0, len(delivery_ids), size):
        outbox_enqueue(reminders_send_chunk, args=(delivery_ids[offset : offset + size],))


@dataclass
class SendOutcome:
    sent: list[int] = field(default_factory=list)
    #: Failed this time and will be tried again after ``retry_in`` seconds.
    retry: list[int] = field(default_factory=list)
    retry_in: float = 0.0
    failed: list[int] = field(default_factory=list)


def reminder_deliveries_send(*, delivery_ids: list[int]) -> SendOutcome:
    """Send the deliveries among ``delivery_ids`` that are due a send, over one connection.

    A delivery is claimed (pending → sending, one attempt counted) by one atomic update
    first, so two workers given the same ids never both send it. So is one left "sending"
    by a run that died (worker killed): after ``REMINDERS_SENDING_STALE_MINUTES`` its claim
    has lapsed and it is sent again, or fails for good once it has used every attempt.

    Each delivery is recorded sent, and committed, as soon as the mail server accepts its
    message, before the next message goes out: a run killed mid-batch leaves sent what went
    out, and at most the one message in flight on its connection is sent a second time by
    whoever takes the lapsed claim over. Call it outside a transaction (a task does), or
    those commits only happen with the caller's.

    The run never sends past half the claim's lifetime: what is left by then goes back to
    pending, so no run is still sending when another may take its deliveries over. Failures
    go back to pending for a retry with backoff, or end as failed with the error after
    the last attempt.
    """
    outcome = SendOutcome()
    started = time.monotonic()
    claim, now = uuid.uuid4(), timezone.now()
    lease = timedelta(minutes=settings.REMINDERS_SENDING_STALE_MINUTES)
    lapsed = Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - lease)
    # In the same update: a scheduled reminder whose learner turned reminders off since
    # (unsubscribed) is recorded as skipped instead of sent; one whose every attempt was
    # interrupted ends failed.
    turned_off = Q(kind__in=SCHEDULED_KINDS) & Exists(
        ReminderPreferences.objects.filter(
            user_id=OuterRef("user_id"), reminder_frequency=Frequency.OFF
        )
    )
    worn_out = lapsed & Q(attempts__gte=settings.REMINDERS_SEND_MAX_ATTEMPTS)
    ReminderDelivery.objects.filter(pk__in=delivery_ids).filter(
        Q(status=DeliveryStatus.PENDING) | lapsed
    ).update(
        status=Case(
            When(turned_off, then=Value(DeliveryStatus.SKIPPED)),
            When(worn_out, then=Value(DeliveryStatus.FAILED)),
            default=Value(DeliveryStatus.SENDING),
        ),
        error=Case(
            When(turned_off, then=Value(TURNED_OFF)),
            When(worn_out, then=Value(INTERRUPTED)),
            default=F("error"),
            output_field=TextField(),
        ),
        attempts=Case(
            When(turned_off | worn_out, then=F("attempts")),
            default=F("attempts") + 1,
        ),
        claim_id=claim,
        claimed_at=now,
    )
    deliveries = list(
        ReminderDelivery.objects.filter(claim_id=claim, status=DeliveryStatus.SENDING)
        .select_related("user")
        # What an email and its recording read, no more: every other column of the two
        # rows (timestamps above all) cost its parsing for each email of the chunk.
        .only(*_SEND_FIELDS)
        .order_by("pk")
    )
    if not deliveries:
        return outcome
    errors: dict[int, str] = {}
    messages: dict[int, EmailMessage] = {}
    try:
        contexts = reminder_email_contexts(deliveries=deliveries)
        for delivery in deliveries:
            try:
                messages[delivery.pk] = reminder_message_render(contexts[delivery.pk])
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:  # one learner's email must not hold back the others
                errors[delivery.pk] = _describe(exc)
    except Exception as exc:
        # The batch's facts did not load, or the task is already out of time: nothing goes
        # out, every delivery is handed back.
        messages = {}
        errors = dict.fromkeys((d.pk for d in deliveries), _describe(exc))
    _send_recording_each(
        messages=messages,
        claim=claim,
        send_until=started + lease.total_seconds() / 2,
        errors=errors,
        outcome=outcome,
    )
    if errors:
        _record(deliveries=deliveries, claim=claim, errors=errors, outcome=outcome)
    return outcome


_SEND_FIELDS = (
    "kind",
    "due_at",
    "steps_to_goal",
    "attempts",
    "user__email",
    "user__display_name",
    "user__timezone",
)


def _send_recording_each(
    *,
    messages: dict[int, EmailMessage],
    claim: uuid.UUID,
    send_until: float,
    errors: dict[int, str],
    outcome: SendOutcome,
) -> None:
    """Send the messages one by one, committing each accepted one as sent before the next.

    Fills ``outcome.sent`` and ``errors``; messages never tried get an error too, so they
    are handed back.
    """
    pks = list(messages)
    accepted: int | None = None  # accepted by the server, not yet recorded
    done = 0
    sends = messages_send_each(list(messages.values()), until=lambda: time.monotonic() < send_until)
    with _sent_recorder(claim=claim) as record_sent:
        try:
            for pk, (_, error) in zip(pks, sends, strict=False):
                done += 1
                if error is not None:
                    errors[pk] = _describe(error)
                    continue
                accepted = pk
                if not record_sent(pk):
                    # The claim was taken over (this run outlived it): send nothing more.
                    break
                accepted = None
                outcome.sent.append(pk)
        except SoftTimeLimitExceeded:
            # Out of time while recording: what the server accepted is recorded all the same.
            if accepted is not None and record_sent(accepted):
                outcome.sent.append(accepted)
        finally:
            sends.close()  # quits the connection
    for pk in pks[done:]:
        errors.setdefault(pk, OUT_OF_LEASE if time.monotonic() >= send_until else TIME_LIMIT)


#: One email recorded sent, if its row is still this run's. The claim alone says so: a run
#: that takes a lapsed claim over writes its own, and a delivery handed back loses it. No
#: condition on the status: PostgreSQL would be invited to the status index, and when its
#: statistics (taken while "sending" was rare, as it mostly is) call that index the cheaper,
#: every email's update reads all the "sending" entries, dead ones included, instead of one
#: row by its key: 1.5 ms of PostgreSQL's CPU an email with 20,000 in flight.
_SENT_SQL = (
    f"UPDATE {ReminderDelivery._meta.db_table} "  # noqa: S608 - our own table
    "SET status = %s, sent_at = %s, error = '' WHERE id = %s AND claim_id = %s"
)


@contextmanager
def _sent_recorder(*, claim: uuid.UUID) -> Iterator[Callable[[int], bool]]:
    """A function recording one delivery sent, committed at once (outside a transaction);
    it answers False when the delivery is no longer this run's to record.

    One plain statement per email on one cursor: this runs once per message sent, where the
    ORM's query building cost more than the update. On PostgreSQL the session commits these
    updates asynchronously (``synchronous_commit`` off) unless ``REMINDERS_SENT_COMMIT_DURABLE``:
    each commit still reaches the server before the next email goes out, so a killed worker
    loses none of them, but it does not wait for the disk. Only a crash of the database
    server itself can lose the last fraction of a second of them (those emails would then go
    out again); waiting for the disk instead made sends 2-3 times as long (bench/RESULTS.md).
    """
    sent = DeliveryStatus.SENT.value
    fields = ReminderDelivery._meta
    claim_value = fields.get_field("claim_id").get_db_prep_value(claim, connection)
    sent_at = fields.get_field("sent_at")
    postgresql = connection.vendor == "postgresql"
    asynchronous = postgresql and not settings.REMINDERS_SENT_COMMIT_DURABLE
    with connection.cursor() as cursor:
        if postgresql:
            # psycopg's own cursor, bound on the server, the statement prepared once: no
            # Django wrappers, no client-side quoting, no parsing and planning per email.
            # Django's connection is in autocommit here, so each update commits on its own.
            raw = psycopg.Cursor(connection.connection)

            def record_sent(pk: int) -> bool:
                raw.execute(_SENT_SQL, [sent, datetime.now(tz=UTC), pk, claim], prepare=True)
                return raw.rowcount == 1
        else:

            def record_sent(pk: int) -> bool:
                now = sent_at.get_db_prep_value(timezone.now(), connection)
                cursor.execute(_SENT_SQL, [sent, now, pk, claim_value])
                return cursor.rowcount == 1

        if asynchronous:
            cursor.execute("SET synchronous_commit TO off")
        try:
            yield record_sent
        finally:
            if asynchronous:
                cursor.execute("RESET synchronous_commit")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        # The task is out of time (a slow mail server): what did not go out is handed back
        # for a retry rather than left "sending".
        return TIME_LIMIT
    return f"{type(exc).__name__}: {exc}"[:2000]


@transaction.atomic
def _record(
    *,
    deliveries: list[ReminderDelivery],
    claim: uuid.UUID,
    errors: dict[int, str],
    outcome: SendOutcome,
) -> None:
    """Record what did not go out: back to pending for a retry, or failed after the last
    attempt. (What went out is recorded as it goes.)"""
    max_attempts = settings.REMINDERS_SEND_MAX_ATTEMPTS
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.pk not in errors:
            continue
        # The claim counted this attempt.
        final = delivery.attempts >= max_attempts
        status: str = DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
        groups[(status, errors[delivery.pk])].append(delivery.pk)
        if final:
            outcome.failed.append(delivery.pk)
        else:
            outcome.retry.append(delivery.pk)
            backoff = settings.REMINDERS_SEND_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
            outcome.retry_in = max(
                outcome.retry_in, min(backoff, settings.REMINDERS_SEND_BACKOFF_MAX_SECONDS)
            )
    for (status, error), ids in groups.items():
        # Only rows this run still holds: never undo what another run recorded.
        held = ReminderDelivery.objects.filter(claim_id=claim, status=DeliveryStatus.SENDING)
        held.filter(pk__in=ids).update(status=status, error=error, claim_id=None)


def reminder_deliveries_resume_interrupted(*, now: datetime | None = None) -> list[int]:
    """Hand deliveries left "sending" by a lost worker back to the send tasks.

    Their claim lapsed ``REMINDERS_SENDING_STALE_MINUTES`` after it was taken (no run sends
    past half of it), so whoever held them is gone. What that run sent is already recorded
    sent and stays so; these went out at most as the one message in flight when it died.
    The send task takes the lapsed claims over (or fails a delivery that used every
    attempt). A redelivered send task (acknowledged late) does the same by itself.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(minutes=settings.REMINDERS_SENDING_STALE_MINUTES)
    with transaction.atomic():
        ids = list(
            ReminderDelivery.objects.filter(
                status=DeliveryStatus.SENDING, claimed_at__lt=stale_before
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _send_in_chunks(ids)
    return ids


def reminder_deliveries_resend_pending(*, now: datetime | None = None) -> list[int]:
    """Hand deliveries whose send task was lost back to the send tasks, in chunks.

    A delivery still pending ``REMINDERS_PENDING_RESEND_MINUTES`` after it was created or
    last claimed lost its task: the fan-out failed to enqueue it (broker down), or a worker
    died after putting a failed send back to pending but before enqueueing the retry. The
    claim (pending → sending) keeps this exactly-once even if the lost task turns up after
    all. The rows are stamped as handed out, so the next sweep waits as long again.
    """
    now = now or timezone.now()
    before = now - timedelta(minutes=settings.REMINDERS_PENDING_RESEND_MINUTES)
    with transaction.atomic():
        ids = list(
            ReminderDelivery.objects.filter(status=DeliveryStatus.PENDING)
            .filter(Q(claimed_at__lt=before) | Q(claimed_at__isnull=True, created_at__lt=before))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        size = settings.REMINDERS_SEND_CHUNK_SIZE
        for offset in range(0, len(ids), size):
            ReminderDelivery.objects.filter(
                pk__in=ids[offset : offset + size], status=DeliveryStatus.PENDING
            ).update(claimed_at=now)
        _send_in_chunks(ids)
    return ids


# --- the beat schedule ------------------------------------------------------------------------

SEND_DUE_NAME = "Reminders: send the reminders due now"
SEND_DUE_TASK = "reminders.send_due"
# The window the data migrations scheduled the send-due task for (0004: the quarter hours).
MIGRATIONS_WINDOW_MINUTES = 15


@transaction.atomic
def beat_schedules_sync() -> list[PeriodicTask]:
    """Keep the send-due beat task starting every window of ``REMINDERS_WINDOW_MINUTES``.

    Runs after every ``migrate``, so changing the setting and deploying is enough. The
    window the schedule was last written for is kept (``BeatScheduleSync``; before the
    first sync, the migrations' 15 minutes): while the setting still equals it, the
    schedule is left as it is, so a curator's edit in admin (another minute, the task
    disabled) stands; once the setting differs, the crontab is rewritten to the setting's
    (name and enabled flag kept). A missing task is created. Returns the send-due tasks.
    """
    window = settings.REMINDERS_WINDOW_MINUTES
    fields = window_crontab(window)
    synced = (
        BeatScheduleSync.objects.select_for_update()
        .filter(task=SEND_DUE_TASK)
        .values_list("window_minutes", flat=True)
        .first()
    )
    tasks = list(PeriodicTask.objects.filter(task=SEND_DUE_TASK).order_by("pk"))
    if tasks and (synced if synced is not None else MIGRATIONS_WINDOW_MINUTES) == window:
        if synced is None:
            BeatScheduleSync.objects.create(task=SEND_DUE_TASK, window_minutes=window)
        return tasks
    crontab, _ = CrontabSchedule.objects.get_or_create(
        **fields, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    if not tasks:
        tasks = [
            PeriodicTask.objects.create(
                name=SEND_DUE_NAME, task=SEND_DUE_TASK, crontab=crontab, enabled=True
            )
        ]
    previous = {task.crontab_id for task in tasks} - {crontab.pk}
    for task in tasks:
        task.interval, task.crontab = None, crontab
        task.save()  # django-celery-beat tells a running beat to reload
    CrontabSchedule.objects.filter(pk__in=previous, periodictask__isnull=True).delete()
    BeatScheduleSync.objects.update_or_create(
        task=SEND_DUE_TASK, defaults={"window_minutes": window}
    )
    return tasks
