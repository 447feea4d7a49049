"""Reads for reminders: a learner's preferences, who is due, and what their email says."""

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Step, StepResource, Track
from apps.progress.models import Enrollment, ProgressEvent, Status, StepProgress
from apps.progress.selectors import (
    Completion,
    Streak,
    completion_for,
    next_steps_for_pairs,
    streak_from_days,
)
from apps.reminders.models import (
    UNDELIVERED,
    DeliveryKind,
    Frequency,
    ReminderDelivery,
    ReminderPreferences,
)

#: Kinds that count towards pausing (reminders the learner did not answer).
NAGGING_KINDS = (DeliveryKind.REMINDER, DeliveryKind.GOAL)
#: Kinds of which a learner gets at most one per local day.
SCHEDULED_KINDS = (DeliveryKind.REMINDER, DeliveryKind.GOAL, DeliveryKind.PAUSED)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reminder_preferences_get(*, user: User) -> ReminderPreferences:
    """The learner's saved preferences, or unsaved defaults when they never changed them.

    One query.
    """
    saved = ReminderPreferences.objects.filter(user=user).first()
    return saved if saved is not None else ReminderPreferences(user=user)


@dataclass(frozen=True)
class ReminderStatus:
    preferences: ReminderPreferences
    #: Reminders stopped after too many went unanswered; progress (or "keep on") resumes them.
    paused: bool


def reminder_status_get(*, user: User) -> ReminderStatus:
    """The learner's preferences and whether their reminders are paused. Two queries:
    1 the preferences; 2 whether a "paused" email went out since they last answered."""
    preferences = reminder_preferences_get(user=user)
    kept_on = Value(preferences.kept_on_at, output_field=DateTimeField())
    paused = _paused(user=user.pk, reset_at=_reset_at(user=user.pk, kept_on_at=kept_on))
    return ReminderStatus(preferences=preferences, paused=paused.exists())


def _reset_at(*, user: Any, kept_on_at: Any) -> Greatest:
    """When the learner last answered their reminders, so that unanswered ones count from
    then: their last progress or their last "keep reminders on", whichever is later (the
    epoch for neither). ``user`` and ``kept_on_at`` are values or expressions."""
    last_progress = (
        ProgressEvent.objects.filter(user=user).order_by("-occurred_at").values("occurred_at")[:1]
    )
    epoch = Value(_EPOCH, output_field=DateTimeField())
    return Greatest(Coalesce(Subquery(last_progress), epoch), Coalesce(kept_on_at, epoch))


def _paused(*, user: Any, reset_at: Any) -> QuerySet[ReminderDelivery]:
    """The one rule for "paused": the "paused" emails that went out after ``reset_at``
    (``_reset_at``). The learner's reminders are paused while there is one."""
    return ReminderDelivery.objects.filter(
        user=user, kind=DeliveryKind.PAUSED, due_at__gt=reset_at
    ).exclude(status__in=UNDELIVERED)


# --- who is due -------------------------------------------------------------------------


def moment_parse(value: str) -> datetime:
    """The moment a reminders run is for, from ISO-8601 (the beat task's argument,
    ``send_reminders --now``); a time without zone is UTC. ValueError if it is not one."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.utcoffset() is None else moment


def window_start(moment: datetime) -> datetime:
    """The start of the beat window ``moment`` falls in (UTC, on the window grid)."""
    minutes = settings.REMINDERS_WINDOW_MINUTES
    moment = moment.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = int((moment - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=elapsed - elapsed % minutes)


def window_crontab(minutes: int) -> dict[str, str]:
    """The crontab fields (UTC) that start a run at the start of every window of ``minutes``,
    on the grid ``window_start`` uses: windows that divide an hour, or whole hours that
    divide a day. Any other length has no crontab: ImproperlyConfigured."""
    if minutes > 0 and 60 % minutes == 0:
        return {"minute": "0" if minutes == 60 else f"*/{minutes}", "hour": "*"}
    if minutes > 0 and minutes % 60 == 0 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        return {"minute": "0", "hour": "0" if hours == 24 else f"*/{hours}"}
    raise ImproperlyConfigured(
        f"REMINDERS_WINDOW_MINUTES={minutes}: a window must divide an hour (1, 2, 3, 4, 5, 6, "
        "10, 12, 15, 20, 30, 60) or be whole hours that divide a day (120, 180, 240, 360, "
        "480, 720, 1440), so the beat's crontab starts each window."
    )


@cache
def zone_for(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_reminder_moment(day: date, hour: int, zone: zoneinfo.ZoneInfo) -> datetime:
    """When ``hour`` o'clock on ``day`` happens in ``zone``, as one UTC instant.

    An hour the clocks skip (spring forward) maps to the instant just after the gap; an
    hour the clocks repeat (fall back) maps to its first occurrence: always exactly one.
    """
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)  # fold=0


def due_slots(*, start: datetime, timezones: Iterable[str]) -> dict[tuple[date, int], list[str]]:
    """Per (local day, local hour), the zones whose reminder moment falls in the window."""
    end = start + timedelta(minutes=settings.REMINDERS_WINDOW_MINUTES)
    slots: dict[tuple[date, int], list[str]] = defaultdict(list)
    for name in timezones:
        try:
            zone = zone_for(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        today = start.astimezone(zone).date()
        for day in (today - timedelta(days=1), today):
            for hour in range(24):
                if start <= local_reminder_moment(day, hour, zone) < end:
                    slots[(day, hour)].append(name)
    return dict(slots)


@dataclass(frozen=True)
class Decision:
    """What the selection decided for one learner whose reminder moment is now."""

    user_id: int
    email: str
    timezone: str
    window: str
    #: The kind of email to send, or None when skipped.
    kind: str | None
    reason: str
    steps_to_goal: int | None = None


@dataclass
class Selection:
    moment: datetime
    decisions: list[Decision] = field(default_factory=list)

    @property
    def to_send(self) -> list[Decision]:
        return [d for d in self.decisions if d.kind is not None]

    @property
    def skipped(self) -> list[Decision]:
        return [d for d in self.decisions if d.kind is None]


def _candidates(*, start: datetime, slots: dict[tuple[date, int], list[str]]) -> QuerySet[User]:
    """Learners whose reminder moment is ``start``, with every fact the rules need."""
    default_hour = settings.REMINDERS_DEFAULT_HOUR
    in_slot: list[tuple[Q, date]] = []
    for (day, hour), zones in slots.items():
        on_day = Q(r_frequency__in=[Frequency.DAILY, Frequency.OFF]) | Q(r_weekday=day.weekday())
        in_slot.append((Q(timezone__in=zones, r_hour=hour) & on_day, day))
    anywhere = Q()
    for condition, _ in in_slot:
        anywhere |= condition

    prefs = "reminder_preferences__"
    progress = ProgressEvent.objects.filter(user=OuterRef("pk")).order_by("-occurred_at")
    # A choice group's steps stop counting once the learner has done as many as it asks.
    done_in_group = (
        StepProgress.objects.filter(
            user=OuterRef(OuterRef("user_id")),
            step__group=OuterRef("group_id"),
            step__retired_at__isnull=True,
            status=Status.DONE,
        )
        .order_by()
        .values("step__group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    unfinished_step = (
        Step.objects.current()
        .filter(track=OuterRef("track_id"), is_optional=False)
        .filter(
            Q(group__isnull=True)
            | Q(group__required__gt=Coalesce(Subquery(done_in_group), Value(0)))
        )
        .exclude(
            Exists(
                StepProgress.objects.filter(
                    user=OuterRef(OuterRef("user_id")),
                    step=OuterRef("pk"),
                    status__in=[Status.DONE, Status.SKIPPED],
                )
            )
        )
    )
    nagging = (
        ReminderDelivery.objects.filter(
            user=OuterRef("pk"), kind__in=NAGGING_KINDS, due_at__gt=OuterRef("reset_at")
        )
        .exclude(status__in=UNDELIVERED)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        User.objects.filter(is_active=True, timezone__in={z for zs in slots.values() for z in zs})
        .annotate(
            r_frequency=Coalesce(F(prefs + "reminder_frequency"), Value(Frequency.WEEKLY)),
            r_weekday=Coalesce(F(prefs + "reminder_weekday"), Value(0)),
            r_hour=Coalesce(
                F(prefs + "reminder_hour"), F(prefs + "usual_hour"), Value(default_hour)
            ),
            r_goal=F(prefs + "weekly_goal"),
        )
        .filter(anywhere)
        .annotate(
            r_window=Case(
                *(When(condition, then=Value(day.isoformat())) for condition, day in in_slot),
                default=Value(""),
            ),
            last_progress_at=Subquery(progress.values("occurred_at")[:1]),
            reset_at=_reset_at(user=OuterRef("pk"), kept_on_at=F(prefs + "kept_on_at")),
            has_verified_email=Exists(
                EmailAddress.objects.filter(user=OuterRef("pk"), verified=True, primary=True)
            ),
            has_unfinished_track=Exists(
                Enrollment.objects.filter(user=OuterRef("pk")).filter(Exists(unfinished_step))
            ),
            already_decided=Exists(
                ReminderDelivery.objects.filter(
                    user=OuterRef("pk"), kind__in=SCHEDULED_KINDS, window=OuterRef("r_window")
                )
            ),
            paused=Exists(_paused(user=OuterRef("pk"), reset_at=OuterRef("reset_at"))),
            unanswered=Coalesce(Subquery(nagging), 0),
            done_this_week=Case(
                When(r_goal__isnull=True, then=Value(0)),
                default=_done_this_week(user=OuterRef("pk"), moment=start),
                output_field=IntegerField(),
            ),
        )
        .order_by("pk")
    )


_CANDIDATE_FACTS = (
    "pk",
    "email",
    "timezone",
    "r_frequency",
    "r_weekday",
    "r_goal",
    "r_window",
    "last_progress_at",
    "has_verified_email",
    "has_unfinished_track",
    "already_decided",
    "paused",
    "unanswered",
    "done_this_week",
)


def reminders_due_select(*, now: datetime) -> Selection:
    """Decide, for every learner whose reminder moment falls in ``now``'s window, what to send.

    Two queries whatever the number of learners: the time zones in use, then one query
    over the learners due with every fact the rules need (computed in the database).
    """
    start = window_start(now)
    selection = Selection(moment=start)
    timezones = User.objects.filter(is_active=True).order_by().values_list("timezone", flat=True)
    slots = due_slots(start=start, timezones=set(timezones.distinct()))
    if not slots:
        return selection
    pause_after = settings.REMINDERS_PAUSE_AFTER
    for row in _candidates(start=start, slots=slots).values(*_CANDIDATE_FACTS):
        selection.decisions.append(_decide(row, start=start, pause_after=pause_after))
    return selection


def _decide(row: dict[str, Any], *, start: datetime, pause_after: int) -> Decision:
    def skip(reason: str) -> Decision:
        return Decision(row["pk"], row["email"], row["timezone"], row["r_window"], None, reason)

    def send(kind: str, reason: str, steps_to_goal: int | None = None) -> Decision:
        return Decision(
            row["pk"], row["email"], row["timezone"], row["r_window"], kind, reason, steps_to_goal
        )

    frequency = row["r_frequency"]
    if frequency == Frequency.OFF:
        return skip("reminders are off")
    if row["already_decided"]:
        return skip(f"already has a reminder for {row['r_window']}")
    if not row["has_verified_email"]:
        return skip("no verified email address")
    if not row["has_unfinished_track"]:
        return skip("no unfinished track")
    if row["paused"]:
        return skip("paused: no progress since the last reminders")
    if row["unanswered"] >= pause_after:
        return send(DeliveryKind.PAUSED, f"{row['unanswered']} reminders in a row unanswered")
    goal = row["r_goal"]
    last_day_of_week = date.fromisoformat(row["r_window"]).weekday() == row["r_weekday"]
    if goal and last_day_of_week and row["done_this_week"] < goal:
        missing = goal - row["done_this_week"]
        return send(DeliveryKind.GOAL, f"{missing} steps short of the weekly goal", missing)
    since = start - timedelta(days=1 if frequency == Frequency.DAILY else 7)
    last = row["last_progress_at"]
    if last is not None and last >= since:
        return skip(f"made progress since {since.isoformat()}")
    return send(DeliveryKind.REMINDER, f"{frequency} reminder, no progress since {since:%Y-%m-%d}")


def _done_this_week(*, user: Any, moment: Any) -> Coalesce:
    """The one rule for "done this week" (the weekly goal): how many steps the learner
    marked done from seven days before ``moment``, the reminder moment, on. Counted when
    asked, so the email counts what its decision counted, and any step done since.

    ``user`` and ``moment`` are values or expressions (an outer reference). One subquery.
    """
    done = (
        StepProgress.objects.filter(
            user=user, status=Status.DONE, completed_at__gte=moment - timedelta(days=7)
        )
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(done), 0)


# --- what an email says ----------------------------------------------------------------


@dataclass(frozen=True)
class NextStepInfo:
    title: str
    minutes: int
    resource_title: str
    resource_url: str


@dataclass(frozen=True)
class EmailContext:
    """Everything one reminder email shows."""

    user: User
    kind: str
    track: Track | None
    completion: Completion | None
    next_step: NextStepInfo | None
    streak: Streak
    weekly_goal: int | None
    done_this_week: int
    steps_to_goal: int | None


def reminder_email_contexts(*, deliveries: list[ReminderDelivery]) -> dict[int, EmailContext]:
    """The email context of every delivery given (users loaded), in 10 queries per batch.

    1 preferences; 2 enrollments with tracks; 3-4 completion (completion_for); 5-7 next
    steps (each track's steps, prerequisite edges, the learners' finished steps); 8 first
    resources; 9 progress events (streaks); 10 each delivery's steps done this week.
    """
    if not deliveries:
        return {}
    user_ids = sorted({d.user_id for d in deliveries})
    goals = dict(
        ReminderPreferences.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "weekly_goal"
        )
    )
    latest_track: dict[int, Track] = {}
    for enrollment in Enrollment.objects.filter(user_id__in=user_ids).select_related("track"):
        # Enrollment's default ordering is most recent activity first.
        latest_track.setdefault(enrollment.user_id, enrollment.track)
    pairs = {(user_id, track.pk) for user_id, track in latest_track.items()}
    completions = completion_for(pairs=pairs)
    next_steps = next_steps_for_pairs(pairs=pairs)
    resources: dict[int, tuple[str, str]] = {}
    first_resources = (
        StepResource.objects.filter(step_id__in={s.id for s in next_steps.values() if s})
        .order_by("step_id", "position", "id")
        .values_list("step_id", "resource__title", "resource__url")
    )
    for step_id, title, url in first_resources:
        resources.setdefault(step_id, (title, url))

    lookback = timedelta(days=settings.REMINDERS_STREAK_LOOKBACK_DAYS)
    earliest_due = min(d.due_at for d in deliveries)
    # Study days only: a bulk "mark all done" or reset does not make a streak.
    events = (
        ProgressEvent.objects.study()
        .filter(user_id__in=user_ids, occurred_at__gte=earliest_due - lookback)
        .order_by()
    )
    activity: dict[int, list[datetime]] = defaultdict(list)
    for user_id, occurred_at in events.values_list("user_id", "occurred_at"):
        activity[user_id].append(occurred_at)
    done_this_week: dict[int, int] = dict(
        ReminderDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
        .annotate(done=_done_this_week(user=OuterRef("user_id"), moment=OuterRef("due_at")))
        .values_list("pk", "done")
    )

    contexts: dict[int, EmailContext] = {}
    for delivery in deliveries:
        user, zone = delivery.user, zone_for(delivery.user.timezone)
        today = delivery.due_at.astimezone(zone).date()
        days = {moment.astimezone(zone).date() for moment in activity.get(user.pk, [])}
        track = latest_track.get(user.pk)
        step = next_steps.get((user.pk, track.pk)) if track else None
        resource = resources.get(step.id, ("", "")) if step else ("", "")
        contexts[delivery.pk] = EmailContext(
            user=user,
            kind=delivery.kind,
            track=track,
            completion=completions.get((user.pk, track.pk)) if track else None,
            next_step=NextStepInfo(step.title, step.estimated_minutes, *resource) if step else None,
            streak=streak_from_days(days, today=today),
            weekly_goal=goals.get(user.pk),
            done_this_week=done_this_week[delivery.pk],
            steps_to_goal=delivery.steps_to_goal,
        )
    return contexts


@dataclass(frozen=True)
class WeeklyProgress:
    """How the learner's week is going against their weekly goal (None: no goal set)."""

    done: int
    goal: int | None


def weekly_progress_get(*, user: User, now: datetime | None = None) -> WeeklyProgress:
    """Steps done in the last seven days (``_done_this_week``, the reminders' own rule)
    and the learner's weekly goal, in 1 query."""
    moment = Value(now or timezone.now(), output_field=DateTimeField())
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(done=_done_this_week(user=user.pk, moment=moment))
        .values_list("done", "reminder_preferences__weekly_goal")
        .first()
    )
    done, goal = row if row is not None else (0, None)
    return WeeklyProgress(done=done, goal=goal)
