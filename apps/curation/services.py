"""Refresh the curator dashboard's tables from content, progress, link health and reminders.

``curation_refresh`` is incremental: it reads only the progress events, reminder deliveries,
sign-ups and track changes after the marks ``RefreshState`` keeps, and recomputes only the
tracks and weeks they touch. What depends on the clock or on small tables is recomputed
every run: the active counts (from ``LearnerTrackActivity``, one row per enrollment, not
per event) and the resources (one row each). Every write is an upsert of figures counted
from the source tables, never an increment, so running it twice changes nothing. What the
marks cannot see (an event committed after a run under an id taken before it, content edited
in bulk) waits for the nightly full refresh (migration 0004).
"""

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC as utc
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from apps.content.models import Resource, Step, StepResource, Track, TrackChange
from apps.core.outbox import outbox_enqueue
from apps.curation.models import (
    LearnerTrackActivity,
    RefreshState,
    ResourceStats,
    StepStats,
    TrackStats,
    WeekStats,
)
from apps.linkhealth.models import BrokenLinkReport
from apps.progress.models import Enrollment, ProgressEvent, Status, StepProgress
from apps.progress.selectors import completion_for
from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery

#: Deliveries that are reminders to study (not a test, nor the notice of a pause).
REMINDER_KINDS = (DeliveryKind.REMINDER, DeliveryKind.GOAL)
#: A delivery may be marked sent a while after it was created: deliveries sent this long
#: before the previous run are read again.
SENT_LATE_MARGIN = timedelta(hours=1)


@dataclass
class RefreshResult:
    full: bool
    events_read: int = 0
    tracks: set[int] = field(default_factory=set)
    weeks: set[date] = field(default_factory=set)
    duration_ms: int = 0


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    day = moment.astimezone(utc).date()
    return day - timedelta(days=day.weekday())


def weeks_shown(*, now: datetime) -> list[date]:
    """The last CURATION_WEEKS weeks, oldest first, the current one last."""
    current = week_start(now)
    return [current - timedelta(weeks=n) for n in range(settings.CURATION_WEEKS - 1, -1, -1)]


def _week_bounds(weeks: Iterable[date]) -> tuple[datetime, datetime]:
    first, last = min(weeks), max(weeks)
    start = datetime(first.year, first.month, first.day, tzinfo=utc)
    end = datetime(last.year, last.month, last.day, tzinfo=utc) + timedelta(weeks=1)
    return start, end


def _current_steps(track_ids: Iterable[int]) -> dict[int, list[tuple[int, int | None]]]:
    """Each track's current steps in order, with their choice group."""
    ordered: dict[int, list[tuple[int, int | None]]] = {track_id: [] for track_id in track_ids}
    for step_id, track_id, group_id in (
        Step.objects.current()
        .filter(track_id__in=list(ordered))
        .order_by("track_id", "position", "id")
        .values_list("pk", "track_id", "group_id")
    ):
        ordered[track_id].append((step_id, group_id))
    return ordered


def _previous_units(track_steps: dict[int, list[tuple[int, int | None]]]) -> dict[int, list[int]]:
    """Per step, the steps of the unit before it: the step before, or all the alternatives
    of the choice group before (a group is one unit, where its first alternative stands;
    its alternatives all follow the unit before the group)."""
    previous: dict[int, list[int]] = {}
    for steps in track_steps.values():
        units: list[list[int]] = []
        unit_of: dict[object, int] = {}
        for step_id, group_id in steps:
            key: object = ("group", group_id) if group_id else ("step", step_id)
            if key not in unit_of:
                unit_of[key] = len(units)
                units.append([])
            units[unit_of[key]].append(step_id)
        for n, unit in enumerate(units[1:], start=1):
            for step_id in unit:
                previous[step_id] = units[n - 1]
    return previous


def _median_gaps(track_steps: dict[int, list[tuple[int, int | None]]]) -> dict[int, int]:
    """Per step, the median seconds from finishing the unit before it (a step, or a choice
    group: its last finished alternative) to finishing it, over the learners who finished
    both in that order."""
    previous = _previous_units(track_steps)
    finished: dict[int, dict[int, datetime]] = defaultdict(dict)
    rows = (
        StepProgress.objects.filter(
            step_id__in=[step for steps in track_steps.values() for step, _ in steps],
            status=Status.DONE,
            completed_at__isnull=False,
        )
        .order_by()
        .values_list("user_id", "step_id", "completed_at")
    )
    for user_id, step_id, completed_at in rows.iterator(chunk_size=20_000):
        if completed_at is not None:
            finished[user_id][step_id] = completed_at
    gaps: dict[int, list[float]] = defaultdict(list)
    for done in finished.values():
        for step_id, completed_at in done.items():
            before = max(
                (done[step] for step in previous.get(step_id, ()) if step in done), default=None
            )
            if before is not None and completed_at >= before:
                gaps[step_id].append((completed_at - before).total_seconds())
    return {step_id: int(statistics.median(values)) for step_id, values in gaps.items()}


def _tracks_refresh(*, track_ids: set[int], now: datetime) -> None:
    """The funnel, the median gaps and the completed count of each track given."""
    track_steps = _current_steps(track_ids)
    all_steps = [step for steps in track_steps.values() for step, _ in steps]
    counts = {
        row["step_id"]: row
        for row in StepProgress.objects.filter(step_id__in=all_steps)
        .order_by()
        .values("step_id")
        .annotate(
            reached=Count("pk", filter=~Q(status=Status.TODO)),
            finished=Count("pk", filter=Q(status=Status.DONE)),
            skipped=Count("pk", filter=Q(status=Status.SKIPPED)),
            stalled=Count("pk", filter=Q(status=Status.IN_PROGRESS)),
        )
    }
    gaps = _median_gaps(track_steps)
    zero = {"reached": 0, "finished": 0, "skipped": 0, "stalled": 0}
    StepStats.objects.filter(track_id__in=track_ids).exclude(step_id__in=all_steps).delete()
    StepStats.objects.bulk_create(
        [
            StepStats(
                step_id=step_id,
                track_id=track_id,
                reached=counts.get(step_id, zero)["reached"],
                finished=counts.get(step_id, zero)["finished"],
                skipped=counts.get(step_id, zero)["skipped"],
                stalled=counts.get(step_id, zero)["stalled"],
                median_gap_seconds=gaps.get(step_id),
                refreshed_at=now,
            )
            for track_id, steps in track_steps.items()
            for step_id, _ in steps
        ],
        update_conflicts=True,
        unique_fields=["step"],
        update_fields=[
            "track",
            "reached",
            "finished",
            "skipped",
            "stalled",
            "median_gap_seconds",
            "refreshed_at",
        ],
    )
    completed: dict[int, int] = dict.fromkeys(track_ids, 0)
    for track_id in track_ids:
        learners = Enrollment.objects.filter(track_id=track_id).values_list("user_id", flat=True)
        completions = completion_for(user_ids=learners, track_ids=[track_id])
        completed[track_id] = sum(c.is_complete for c in completions.values())
    existing = set(TrackStats.objects.filter(track_id__in=track_ids).values_list("pk", flat=True))
    TrackStats.objects.bulk_create(
        [
            TrackStats(track_id=track_id, completed=n, refreshed_at=now)
            for track_id, n in completed.items()
            if track_id not in existing
        ]
    )
    for track_id, n in completed.items():
        if track_id in existing:
            TrackStats.objects.filter(pk=track_id).update(completed=n, refreshed_at=now)


def _activity_refresh(*, pairs: set[tuple[int, int]] | None) -> None:
    """Each learner's latest study change per track: for the pairs given, or for all."""
    studied = ProgressEvent.objects.study().filter(step__retired_at__isnull=True)
    if pairs is not None:
        if not pairs:
            return
        studied = studied.filter(
            user_id__in={user for user, _ in pairs}, step__track_id__in={t for _, t in pairs}
        )
    rows = (
        studied.order_by()
        .values("user_id", "step__track_id")
        .annotate(last=Max("occurred_at"))
        .values_list("user_id", "step__track_id", "last")
    )
    batch: list[LearnerTrackActivity] = []
    for user_id, track_id, last in rows.iterator(chunk_size=20_000):
        if pairs is None or (user_id, track_id) in pairs:
            batch.append(
                LearnerTrackActivity(user_id=user_id, track_id=track_id, last_study_at=last)
            )
        if len(batch) >= 5_000:
            _activity_save(batch)
            batch = []
    _activity_save(batch)


def _activity_save(batch: list[LearnerTrackActivity]) -> None:
    LearnerTrackActivity.objects.bulk_create(
        batch,
        update_conflicts=True,
        unique_fields=["user", "track"],
        update_fields=["last_study_at"],
    )


def _track_totals_refresh(*, now: datetime) -> None:
    """Enrolled and active learners of every track: one row per enrollment is read, and the
    windows move with the clock, so every run counts them again."""
    enrolled = dict(
        Enrollment.objects.order_by()
        .values("track_id")
        .annotate(n=Count("pk"))
        .values_list("track_id", "n")
    )
    active: dict[int, tuple[int, int]] = {
        track_id: (d7, d30)
        for track_id, d7, d30 in LearnerTrackActivity.objects.order_by()
        .values("track_id")
        .annotate(
            d7=Count("pk", filter=Q(last_study_at__gte=now - timedelta(days=7))),
            d30=Count("pk", filter=Q(last_study_at__gte=now - timedelta(days=30))),
        )
        .values_list("track_id", "d7", "d30")
    }
    TrackStats.objects.bulk_create(
        [
            TrackStats(
                track_id=track_id,
                enrolled=enrolled.get(track_id, 0),
                active_7d=active.get(track_id, (0, 0))[0],
                active_30d=active.get(track_id, (0, 0))[1],
                refreshed_at=now,
            )
            for track_id in Track.objects.values_list("pk", flat=True)
        ],
        update_conflicts=True,
        unique_fields=["track"],
        update_fields=["enrolled", "active_7d", "active_30d", "refreshed_at"],
    )


def _resources_refresh(*, now: datetime) -> None:
    """Every resource's use, skips and reports (one row each: cheap to count again)."""
    use: dict[int, tuple[int, int, int, int]] = {
        resource_id: (steps, tracks, reached or 0, skipped or 0)
        for resource_id, steps, tracks, reached, skipped in StepResource.objects.filter(
            step__retired_at__isnull=True
        )
        .order_by()
        .values("resource_id")
        .annotate(
            steps=Count("step_id", distinct=True),
            tracks=Count("step__track_id", distinct=True),
            reached=Sum("step__curation_stats__reached"),
            skipped=Sum("step__curation_stats__skipped"),
        )
        .values_list("resource_id", "steps", "tracks", "reached", "skipped")
    }
    reports: dict[int, tuple[int, int]] = {
        resource_id: (total, still_open)
        for resource_id, total, still_open in BrokenLinkReport.objects.order_by()
        .values("resource_id")
        .annotate(total=Count("pk"), still_open=Count("pk", filter=Q(resolved_at__isnull=True)))
        .values_list("resource_id", "total", "still_open")
    }
    unused = (0, 0, 0, 0)
    ResourceStats.objects.bulk_create(
        [
            ResourceStats(
                resource_id=resource_id,
                steps=use.get(resource_id, unused)[0],
                tracks=use.get(resource_id, unused)[1],
                reached=use.get(resource_id, unused)[2],
                skipped=use.get(resource_id, unused)[3],
                reports=reports.get(resource_id, (0, 0))[0],
                open_reports=reports.get(resource_id, (0, 0))[1],
                refreshed_at=now,
            )
            for resource_id in Resource.objects.values_list("pk", flat=True)
        ],
        update_conflicts=True,
        unique_fields=["resource"],
        update_fields=[
            "steps",
            "tracks",
            "reached",
            "skipped",
            "reports",
            "open_reports",
            "refreshed_at",
        ],
    )


@dataclass
class WeeksToCount:
    """The weeks whose figures of each kind changed: study (active learners and steps
    completed), sign-ups, reminders."""

    study: set[date] = field(default_factory=set)
    joined: set[date] = field(default_factory=set)
    reminders: set[date] = field(default_factory=set)

    def all(self) -> set[date]:
        return self.study | self.joined | self.reminders

    def add_everywhere(self, weeks: set[date]) -> None:
        self.study |= weeks
        self.joined |= weeks
        self.reminders |= weeks

    def keep_only(self, weeks: set[date]) -> None:
        self.study &= weeks
        self.joined &= weeks
        self.reminders &= weeks


def _weeks_save(
    weeks: set[date], counted: Mapping[date, tuple[int, ...]], fields: list[str], now: datetime
) -> None:
    """Upsert ``fields`` of every week from the first to the last given (zeros where
    nothing was counted); a week's other figures are left as they are."""
    if not weeks:
        return
    first, last = min(weeks), max(weeks)
    span = [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    zeros = (0,) * len(fields)
    WeekStats.objects.bulk_create(
        [
            WeekStats(
                week=week,
                refreshed_at=now,
                **dict(zip(fields, counted.get(week, zeros), strict=True)),
            )
            for week in span
        ],
        update_conflicts=True,
        unique_fields=["week"],
        update_fields=[*fields, "refreshed_at"],
    )


def _weeks_refresh(*, weeks: WeeksToCount, now: datetime) -> None:
    """Count each kind of weekly figure again over the weeks where it changed (from the
    first such week to the last): a reminder marked sent recounts reminders, not the week's
    events."""
    if weeks.study:
        start, end = _week_bounds(weeks.study)
        study = {
            week_start(week): (active, done)
            for week, active, done in ProgressEvent.objects.study()
            .filter(occurred_at__gte=start, occurred_at__lt=end, step__retired_at__isnull=True)
            .annotate(week=TruncWeek("occurred_at", tzinfo=utc))
            .order_by()
            .values("week")
            .annotate(
                active=Count("user_id", distinct=True),
                done=Count("pk", filter=Q(to_status=Status.DONE)),
            )
            .values_list("week", "active", "done")
        }
        _weeks_save(weeks.study, study, ["active_learners", "steps_completed"], now)
    if weeks.joined:
        start, end = _week_bounds(weeks.joined)
        joined = {
            week_start(week): (n,)
            for week, n in get_user_model()
            .objects.filter(date_joined__gte=start, date_joined__lt=end, is_staff=False)
            .annotate(week=TruncWeek("date_joined", tzinfo=utc))
            .order_by()
            .values("week")
            .annotate(n=Count("pk"))
            .values_list("week", "n")
        }
        _weeks_save(weeks.joined, joined, ["new_learners"], now)
    if weeks.reminders:
        start, end = _week_bounds(weeks.reminders)
        window = timedelta(hours=settings.CURATION_PROGRESS_WINDOW_HOURS)
        progressed = (
            ProgressEvent.objects.study()
            .filter(
                user_id=OuterRef("user_id"),
                occurred_at__gte=OuterRef("sent_at"),
                occurred_at__lt=OuterRef("sent_at") + window,
                step__retired_at__isnull=True,
            )
            .order_by()
        )
        reminders = {
            week_start(week): (sent, followed)
            for week, sent, followed in ReminderDelivery.objects.filter(
                status=DeliveryStatus.SENT,
                kind__in=REMINDER_KINDS,
                sent_at__gte=start,
                sent_at__lt=end,
            )
            .annotate(week=TruncWeek("sent_at", tzinfo=utc), progressed=Exists(progressed))
            .order_by()
            .values("week")
            .annotate(sent=Count("pk"), followed=Count("pk", filter=Q(progressed=True)))
            .values_list("week", "sent", "followed")
        }
        _weeks_save(weeks.reminders, reminders, ["reminders_sent", "reminded_progressed"], now)


@transaction.atomic
def curation_refresh(*, full: bool = False, now: datetime | None = None) -> RefreshResult:
    """Bring the dashboard's tables up to date; ``full`` recounts everything.

    Two refreshes never overlap: the state row is locked for the whole run. Events,
    deliveries, sign-ups and track changes are read up to the highest id seen at the
    start, and the marks move to it at the end.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    RefreshState.objects.get_or_create(pk=1)
    state = RefreshState.objects.select_for_update().get(pk=1)
    result = RefreshResult(full=full or state.refreshed_at is None)
    weeks = WeeksToCount()
    shown = set(weeks_shown(now=now))
    marks = {
        "last_event_id": ProgressEvent.objects.aggregate(m=Max("pk"))["m"] or 0,
        "last_delivery_id": ReminderDelivery.objects.aggregate(m=Max("pk"))["m"] or 0,
        "last_user_id": get_user_model().objects.aggregate(m=Max("pk"))["m"] or 0,
        "last_change_id": TrackChange.objects.aggregate(m=Max("pk"))["m"] or 0,
    }
    if result.full:
        LearnerTrackActivity.objects.all().delete()
        _activity_refresh(pairs=None)
        result.tracks = set(Track.objects.values_list("pk", flat=True))
        weeks.add_everywhere(shown)
        result.events_read = ProgressEvent.objects.count()
    else:
        pairs: set[tuple[int, int]] = set()
        for user_id, track_id, occurred_at, bulk_id in ProgressEvent.objects.filter(
            pk__gt=state.last_event_id, pk__lte=marks["last_event_id"]
        ).values_list("user_id", "step__track_id", "occurred_at", "bulk_id"):
            result.events_read += 1
            result.tracks.add(track_id)
            if bulk_id is None:
                pairs.add((user_id, track_id))
                # A study change counts in its week, and may follow a reminder sent up to
                # the window before it, in the week before.
                weeks.study.add(week_start(occurred_at))
                window = timedelta(hours=settings.CURATION_PROGRESS_WINDOW_HOURS)
                weeks.reminders |= {week_start(occurred_at), week_start(occurred_at - window)}
        _activity_refresh(pairs=pairs)
        result.tracks |= set(
            TrackChange.objects.filter(
                pk__gt=state.last_change_id, pk__lte=marks["last_change_id"]
            ).values_list("track_id", flat=True)
        )
        last_run = state.refreshed_at or now
        result.tracks |= set(
            Step.objects.filter(updated_at__gte=last_run).values_list("track_id", flat=True)
        )
        # A track new since the last run has no figures yet.
        result.tracks |= set(
            Track.objects.filter(curation_stats__isnull=True).values_list("pk", flat=True)
        )
        for sent_at in ReminderDelivery.objects.filter(
            Q(pk__gt=state.last_delivery_id, pk__lte=marks["last_delivery_id"])
            | Q(sent_at__gte=last_run - SENT_LATE_MARGIN),
            sent_at__isnull=False,
        ).values_list("sent_at", flat=True):
            if sent_at is not None:
                weeks.reminders.add(week_start(sent_at))
        for joined in (
            get_user_model()
            .objects.filter(pk__gt=state.last_user_id, pk__lte=marks["last_user_id"])
            .values_list("date_joined", flat=True)
        ):
            weeks.joined.add(week_start(joined))
        # A week never counted yet (the first of a new week) is counted in full.
        weeks.add_everywhere(
            shown - set(WeekStats.objects.filter(week__in=shown).values_list("week", flat=True))
        )
        weeks.keep_only(shown)
    result.weeks = weeks.all()
    if result.tracks:
        _tracks_refresh(track_ids=result.tracks, now=now)
    _track_totals_refresh(now=now)
    _resources_refresh(now=now)
    _weeks_refresh(weeks=weeks, now=now)
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    for name, value in marks.items():
        setattr(state, name, value)
    state.refreshed_at = now
    if result.full:
        state.full_refreshed_at = now
    state.tracks_refreshed = len(result.tracks)
    state.weeks_refreshed = len(result.weeks)
    state.events_read = result.events_read
    state.duration_ms = result.duration_ms
    state.save()
    return result


@transaction.atomic
def curation_refresh_request(*, full: bool = False) -> None:
    """Have the refresh run in a worker soon (the dashboard's button)."""
    from apps.curation.tasks import curation_refresh_task  # the task module imports this one

    outbox_enqueue(curation_refresh_task, kwargs={"full": full})
