"""Reads of learners' progress."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    Exists,
    FilteredRelation,
    JSONField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.query import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Resource, Step, StepResource, Track
from apps.progress.models import (
    BulkAction,
    Enrollment,
    ProgressEvent,
    Status,
    StepNote,
    StepProgress,
)


@dataclass(frozen=True)
class Completion:
    """How far one learner is through one track.

    ``percent`` = done required steps ÷ (required steps - skipped required steps),
    floored to a whole number so that 100 means nothing is left. Optional steps
    never hold it back. A track whose every required step was skipped (or that
    has none) counts as complete.

    A choice group of N steps that asks for ``required`` of them counts as ``required``
    required steps (done as its steps are done, up to ``required``) and N - ``required``
    optional ones: whichever alternative a learner takes, they reach 100 %, and
    ``steps_total`` is still the number of steps. Its required steps count as skipped
    only when too many of its steps were skipped for the rest to complete it. Retired
    steps count nowhere.
    """

    user_id: int
    track_id: int
    required_total: int = 0
    required_done: int = 0
    required_skipped: int = 0
    optional_total: int = 0
    optional_done: int = 0
    in_progress: int = 0
    total_minutes: int = 0
    #: Estimated minutes of the required steps neither done nor skipped (for a choice
    #: group: the steps it still needs, at the average time of those left to choose from).
    remaining_minutes: int = 0

    @property
    def percent(self) -> int:
        denominator = self.required_total - self.required_skipped
        if denominator <= 0:
            return 100
        return self.required_done * 100 // denominator

    @property
    def steps_total(self) -> int:
        return self.required_total + self.optional_total

    @property
    def steps_done(self) -> int:
        return self.required_done + self.optional_done

    @property
    def is_complete(self) -> bool:
        return self.percent == 100


#: Some of a track's steps, alike for completion: their choice group (id and how many of
#: its steps it requires; None and 0 outside a group), whether they are optional, the
#: learner's status on them, how many they are and their estimated minutes in all.
StepFacts = tuple[int | None, int, bool, str, int, int]


class StepShape(NamedTuple):
    """What completion needs to know of one step."""

    id: int
    is_optional: bool
    estimated_minutes: int
    group_id: int | None = None
    group_required: int = 0


@dataclass
class _GroupTally:
    required: int = 0
    steps: int = 0
    done: int = 0
    skipped: int = 0
    open_minutes: int = 0


def group_finished(*, required: int, steps: int, done: int, skipped: int) -> bool:
    """Whether a choice group is finished for a learner: ``required`` of its ``steps``
    are done, or too many were skipped for the rest to complete it (as a skipped step
    is finished). A prerequisite on a group is met when the group is finished."""
    needed = min(required, steps) - min(done, required)
    return needed <= 0 or steps - done - skipped <= 0


def completion_from_facts(*, user_id: int, track_id: int, facts: Iterable[StepFacts]) -> Completion:
    """The one definition of completion, from the track's steps in groups (see ``StepFacts``).

    Every figure is a sum over steps, so the groups may come counted by the database
    (``completion_for``) or one step each (``completion_of_steps``); a group with
    negative counts takes steps back out of the figures. A choice group's figures are
    summed first and counted once at the end (see ``Completion``).
    """
    totals = dict.fromkeys(
        (
            "required_total",
            "optional_total",
            "total_minutes",
            "required_done",
            "required_skipped",
            "optional_done",
            "in_progress",
            "remaining_minutes",
        ),
        0,
    )
    choice_groups: dict[int, _GroupTally] = defaultdict(_GroupTally)
    for group_id, group_required, optional, status, steps, minutes in facts:
        totals["total_minutes"] += minutes
        if status == Status.IN_PROGRESS:
            totals["in_progress"] += steps
        if group_id is not None:
            tally = choice_groups[group_id]
            tally.required = group_required
            tally.steps += steps
            if status == Status.DONE:
                tally.done += steps
            elif status == Status.SKIPPED:
                tally.skipped += steps
            else:
                tally.open_minutes += minutes
            continue
        if optional:
            totals["optional_total"] += steps
            if status == Status.DONE:
                totals["optional_done"] += steps
            continue
        totals["required_total"] += steps
        if status == Status.DONE:
            totals["required_done"] += steps
        elif status == Status.SKIPPED:
            totals["required_skipped"] += steps
        else:
            totals["remaining_minutes"] += minutes
    for tally in choice_groups.values():
        if tally.steps <= 0:
            continue
        required = min(tally.required, tally.steps)
        done = min(tally.done, required)
        open_steps = tally.steps - tally.done - tally.skipped
        still_needed = min(required - done, open_steps)
        totals["required_total"] += required
        totals["required_done"] += done
        totals["required_skipped"] += required - done - still_needed
        totals["optional_total"] += tally.steps - required
        totals["optional_done"] += tally.done - done
        if still_needed > 0:
            totals["remaining_minutes"] += tally.open_minutes * still_needed // open_steps
    return Completion(user_id=user_id, track_id=track_id, **totals)


def completion_for(
    *,
    user_ids: Iterable[int] = (),
    track_ids: Iterable[int] = (),
    pairs: Iterable[tuple[int, int]] | None = None,
) -> dict[tuple[int, int], Completion]:
    """Completion of every (user, track) pair asked for, in two queries whatever the sizes.

    Every user of ``user_ids`` with every track of ``track_ids``, or only the (user, track)
    ``pairs`` given instead: a reminder needs one track per learner, not all of them.

    1. per track, choice group and optional flag: the current steps and their minutes;
    2. per (user, track), choice group, optional flag and status: the learner's current
       steps and their minutes.

    A learner's steps start as the track's, all to do; each group of the second query
    moves its steps from to do to their status. ``completion_from_facts`` does the rest.
    Retired steps and the progress on them are left out.
    """
    if pairs is None:
        users, tracks = sorted(set(user_ids)), sorted(set(track_ids))
        wanted = [(user_id, track_id) for track_id in tracks for user_id in users]
    elif user_ids or track_ids:
        raise TypeError("completion_for takes user_ids and track_ids, or pairs, not both")
    else:
        wanted = sorted(set(pairs))
        users = sorted({user_id for user_id, _ in wanted})
        tracks = sorted({track_id for _, track_id in wanted})
    if not wanted:
        return {}
    per_track: dict[int, list[StepFacts]] = defaultdict(list)
    for track_id, group_id, group_required, optional, steps, minutes in (
        Step.objects.current()
        .filter(track_id__in=tracks)
        .order_by()
        .values("track_id", "group_id", "group__required", "is_optional")
        .annotate(steps=Count("pk"), minutes=Coalesce(Sum("estimated_minutes"), 0))
        .values_list("track_id", "group_id", "group__required", "is_optional", "steps", "minutes")
    ):
        per_track[track_id].append(
            (group_id, group_required or 0, optional, Status.TODO, steps, minutes)
        )
    per_learner: dict[tuple[int, int], list[StepFacts]] = defaultdict(list)
    grouped_by = (
        "user_id",
        "step__track_id",
        "step__group_id",
        "step__group__required",
        "step__is_optional",
        "status",
    )
    for user_id, track_id, group_id, group_required, optional, status, steps, minutes in (
        StepProgress.objects.filter(
            user_id__in=users, step__track_id__in=tracks, step__retired_at__isnull=True
        )
        .order_by()
        .values(*grouped_by)
        .annotate(steps=Count("pk"), minutes=Coalesce(Sum("step__estimated_minutes"), 0))
        .values_list(*grouped_by, "steps", "minutes")
    ):
        required = group_required or 0
        per_learner[(user_id, track_id)] += [
            (group_id, required, optional, status, steps, minutes),
            (group_id, required, optional, Status.TODO, -steps, -minutes),
        ]
    return {
        (user_id, track_id): completion_from_facts(
            user_id=user_id,
            track_id=track_id,
            facts=per_track[track_id] + per_learner[(user_id, track_id)],
        )
        for user_id, track_id in wanted
    }


def learner_completions_for(*, user_id: int, track_ids: Iterable[int]) -> dict[int, Completion]:
    """One learner's completion of each track asked for, in one query: the tracks' current
    steps, each with the learner's status (to do when untouched), counted by track,
    choice group, optional flag and status."""
    tracks = sorted(set(track_ids))
    facts: dict[int, list[StepFacts]] = {track_id: [] for track_id in tracks}
    for track_id, group_id, group_required, optional, status, steps, minutes in (
        Step.objects.current()
        .filter(track_id__in=tracks)
        .alias(mine=FilteredRelation("progress", condition=Q(progress__user_id=user_id)))
        .annotate(learner_status=Coalesce("mine__status", Value(Status.TODO)))
        .order_by()
        .values("track_id", "group_id", "group__required", "is_optional", "learner_status")
        .annotate(steps=Count("pk"), minutes=Coalesce(Sum("estimated_minutes"), 0))
        .values_list(
            "track_id",
            "group_id",
            "group__required",
            "is_optional",
            "learner_status",
            "steps",
            "minutes",
        )
    ):
        facts[track_id].append((group_id, group_required or 0, optional, status, steps, minutes))
    return {
        track_id: completion_from_facts(user_id=user_id, track_id=track_id, facts=track_facts)
        for track_id, track_facts in facts.items()
    }


def track_completion_for(*, user_id: int, track_id: int) -> Completion:
    """One learner's completion of one track (1 query, see ``learner_completions_for``)."""
    return learner_completions_for(user_id=user_id, track_ids=[track_id])[track_id]


def step_statuses_for(*, user_id: int, step_ids: Iterable[int]) -> dict[int, str]:
    """The learner's status on each step asked for (steps never touched are to do)."""
    ids = list(step_ids)
    found = dict(
        StepProgress.objects.filter(user_id=user_id, step_id__in=ids).values_list(
            "step_id", "status"
        )
    )
    return {step_id: found.get(step_id, Status.TODO) for step_id in ids}


# --- the learner's dashboard ------------------------------------------------------------

ACTIVITY_WEEKS = 12


@dataclass(frozen=True)
class NextStep:
    id: int
    key: str
    title: str
    estimated_minutes: int
    position: int


@dataclass(frozen=True)
class EnrollmentSummary:
    track: Track
    started_at: datetime
    last_activity_at: datetime
    completion: Completion
    next_step: NextStep | None


@dataclass(frozen=True)
class Streak:
    """Consecutive local days with activity. A streak still counts until today ends."""

    current: int
    longest: int
    active_today: bool

    @property
    def at_risk(self) -> bool:
        return self.current > 0 and not self.active_today


@dataclass(frozen=True)
class ActivityDay:
    day: date
    count: int


@dataclass(frozen=True)
class RecentCompletion:
    step_id: int
    step_title: str
    track_slug: str
    track_title: str
    completed_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    today: date
    enrollments: list[EnrollmentSummary]
    streak: Streak
    #: One entry per day of the last ACTIVITY_WEEKS weeks, oldest first, ending today.
    activity: list[ActivityDay]
    recent: list[RecentCompletion]

    @property
    def is_empty(self) -> bool:
        return not self.enrollments


def next_steps_for(*, user_id: int, track_ids: Iterable[int]) -> dict[int, NextStep | None]:
    """Per track, the learner's next step (see ``next_steps_for_pairs``). Three queries."""
    pairs = {(user_id, track_id) for track_id in track_ids}
    return {track_id: step for (_, track_id), step in next_steps_for_pairs(pairs=pairs).items()}


def next_steps_for_pairs(
    *, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], NextStep | None]:
    """Per (learner, track), the first current step (in order) not done or skipped, not
    in a choice group already finished, whose prerequisites are met; None when there is
    none.

    A prerequisite step is met when it is done or skipped, a prerequisite group when it
    is finished (``group_finished``). Three queries whatever the sizes: the tracks'
    current steps, their prerequisite edges (on steps and on groups, in one), and the
    learners' finished steps.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    users = {user_id for user_id, _ in wanted}
    tracks = {track_id for _, track_id in wanted}
    by_track: dict[int, list[NextStep]] = {}
    group_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    required: dict[int, int] = {}
    for step_id, track_id, key, title, minutes, position, group_id, group_required in (
        Step.objects.current()
        .filter(track_id__in=tracks)
        .order_by("track_id", "position", "id")
        .values_list(
            "id",
            "track_id",
            "key",
            "title",
            "estimated_minutes",
            "position",
            "group_id",
            "group__required",
        )
    ):
        by_track.setdefault(track_id, []).append(NextStep(step_id, key, title, minutes, position))
        if group_id is not None:
            group_of[step_id] = group_id
            members.setdefault(group_id, []).append(step_id)
            required[group_id] = group_required
    step_edges = Step.prerequisites.through.objects.filter(
        from_step__track_id__in=tracks, to_step__retired_at__isnull=True
    ).values_list("from_step_id", "to_step_id", Value(False))
    group_edges = Step.prerequisite_groups.through.objects.filter(
        step__track_id__in=tracks
    ).values_list("step_id", "choicegroup_id", Value(True))
    requires: dict[int, list[tuple[int, bool]]] = {}
    for after, before, is_group in step_edges.union(group_edges, all=True):
        requires.setdefault(after, []).append((before, bool(is_group)))
    finished: dict[int, dict[int, str]] = {}
    for user_id, step_id, status in StepProgress.objects.filter(
        user_id__in=users,
        step__track_id__in=tracks,
        step__retired_at__isnull=True,
        status__in=[Status.DONE, Status.SKIPPED],
    ).values_list("user_id", "step_id", "status"):
        finished.setdefault(user_id, {})[step_id] = status
    result: dict[tuple[int, int], NextStep | None] = {}
    for user_id, track_id in wanted:
        mine = finished.get(user_id, {})

        def is_finished(group_id: int, mine: dict[int, str] = mine) -> bool:
            statuses = [mine.get(step_id) for step_id in members.get(group_id, [])]
            return group_finished(
                required=required.get(group_id, 1),
                steps=len(statuses),
                done=statuses.count(Status.DONE),
                skipped=statuses.count(Status.SKIPPED),
            )

        def met(before: int, is_group: bool, mine: dict[int, str] = mine) -> bool:
            return is_finished(before) if is_group else before in mine

        result[(user_id, track_id)] = next(
            (
                step
                for step in by_track.get(track_id, [])
                if step.id not in mine
                and not (step.id in group_of and is_finished(group_of[step.id]))
                and all(met(b, g) for b, g in requires.get(step.id, []))
            ),
            None,
        )
    return result


def activity_by_day(*, user: User) -> dict[date, int]:
    """Number of progress changes per local day (the learner's time zone), all time,
    leaving out bulk actions (a "mark all done" is not a day of study). 1 query."""
    rows = (
        ProgressEvent.objects.study()
        .filter(user=user)
        .annotate(day=TruncDate("occurred_at", tzinfo=user.zoneinfo))
        .order_by()
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    return dict(rows)


def streak_from_days(days: Iterable[date], *, today: date) -> Streak:
    active = set(days)
    longest = run = 0
    previous: date | None = None
    for day in sorted(active):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    end = today if today in active else today - timedelta(days=1)
    current = 0
    while end in active:
        current += 1
        end -= timedelta(days=1)
    return Streak(current=current, longest=longest, active_today=today in active)


def learner_dashboard(*, user: User, today: date | None = None, recent_limit: int = 5) -> Dashboard:
    """Everything the dashboard shows, in seven queries whatever the learner's history.

    1 enrollments with their tracks; 2 completion (learner_completions_for); 3-5 next
    steps (next_steps_for); 6 activity per local day; 7 recently completed steps.
    """
    today = today or user.local_today()
    enrollments = list(Enrollment.objects.filter(user=user).select_related("track"))
    track_ids = [e.track_id for e in enrollments]
    completions = learner_completions_for(user_id=user.pk, track_ids=track_ids)
    next_steps = next_steps_for(user_id=user.pk, track_ids=track_ids)
    per_day = activity_by_day(user=user)
    first_day = today - timedelta(weeks=ACTIVITY_WEEKS) + timedelta(days=1)
    recent = (
        StepProgress.objects.filter(user=user, status=Status.DONE, step__retired_at__isnull=True)
        .order_by("-completed_at", "-id")
        .values_list(
            "step_id", "step__title", "step__track__slug", "step__track__title", "completed_at"
        )[:recent_limit]
    )
    return Dashboard(
        today=today,
        enrollments=[
            EnrollmentSummary(
                track=e.track,
                started_at=e.started_at,
                last_activity_at=e.last_activity_at,
                completion=completions[e.track_id],
                next_step=next_steps[e.track_id],
            )
            for e in enrollments
        ],
        streak=streak_from_days(per_day, today=today),
        activity=[
            ActivityDay(day, per_day.get(day, 0))
            for day in (first_day + timedelta(days=n) for n in range((today - first_day).days + 1))
        ],
        recent=[RecentCompletion(*row) for row in recent],
    )


# --- for the API ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepProgressState:
    """Where the learner stands on one published step (absent progress means to do)."""

    step_id: int
    track_slug: str
    status: str
    status_changed_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None


def published_step_get(*, step_id: int) -> Step | None:
    """The step if it belongs to a published track and is not retired, with its track
    (1 query)."""
    return (
        Step.objects.current()
        .select_related("track")
        .filter(pk=step_id, track__is_published=True)
        .first()
    )


def step_progress_get(*, user: User, step: Step) -> StepProgressState:
    """The learner's progress on a step (1 query)."""
    progress = StepProgress.objects.filter(user=user, step=step).first()
    if progress is None:
        return StepProgressState(step.pk, step.track.slug, Status.TODO, None, None, None)
    return StepProgressState(
        step.pk,
        step.track.slug,
        progress.status,
        progress.status_changed_at,
        progress.started_at,
        progress.completed_at,
    )


@dataclass(frozen=True)
class TrackProgress:
    statuses: dict[int, str]
    completion: Completion


def completion_of_steps(
    *,
    user_id: int,
    track_id: int,
    steps: Iterable[StepShape | tuple[int, bool, int]],
    statuses: Mapping[int, str],
) -> Completion:
    """The same figures as ``completion_for``, worked out from data already in hand:
    the track's current steps (see ``StepShape``; a plain (id, is_optional,
    estimated_minutes) is a step outside any choice group) and the learner's statuses.
    No query; for a page that has loaded both anyway."""
    shapes = (StepShape(*step) for step in steps)
    return completion_from_facts(
        user_id=user_id,
        track_id=track_id,
        facts=(
            (
                shape.group_id,
                shape.group_required,
                shape.is_optional,
                statuses.get(shape.id, Status.TODO),
                1,
                shape.estimated_minutes,
            )
            for shape in shapes
        ),
    )


def track_progress_for(
    *, user: User, track: Track, steps: Iterable[StepShape | tuple[int, bool, int]]
) -> TrackProgress:
    """The learner's status on each of the track's current steps, given as ``StepShape``
    (or (id, is_optional, estimated_minutes)), and their completion of it (1 query)."""
    shapes = [StepShape(*step) for step in steps]
    statuses = step_statuses_for(user_id=user.pk, step_ids=[shape.id for shape in shapes])
    return TrackProgress(
        statuses=statuses,
        completion=completion_of_steps(
            user_id=user.pk, track_id=track.pk, steps=shapes, statuses=statuses
        ),
    )


def learner_track_progress(*, user_id: int, track_id: int) -> TrackProgress:
    """The learner's status on each current step of the track they touched (a step absent
    is to do) and their completion of it, in 1 query: the track's current steps with
    their status."""
    steps, statuses = [], {}
    for step_id, optional, minutes, group_id, group_required, status in (
        Step.objects.current()
        .filter(track_id=track_id)
        .alias(mine=FilteredRelation("progress", condition=Q(progress__user_id=user_id)))
        .values_list(
            "id", "is_optional", "estimated_minutes", "group_id", "group__required", "mine__status"
        )
    ):
        steps.append(StepShape(step_id, optional, minutes, group_id, group_required or 0))
        if status is not None:
            statuses[step_id] = status
    return TrackProgress(
        statuses=statuses,
        completion=completion_of_steps(
            user_id=user_id, track_id=track_id, steps=steps, statuses=statuses
        ),
    )


@dataclass(frozen=True)
class ProgressChange:
    id: int
    step_id: int
    track_slug: str
    from_status: str
    to_status: str
    occurred_at: datetime
    recorded_at: datetime
    source: str


@dataclass(frozen=True)
class ProgressChanges:
    changes: list[ProgressChange]
    #: Pass this as ``since`` next time; it equals ``since`` when nothing changed.
    cursor: int
    has_more: bool


def progress_changes_since(*, user: User, cursor: int, limit: int) -> ProgressChanges:
    """The learner's status changes recorded after ``cursor`` (an event id), oldest first.

    One query. Event ids only grow, so a client that stores the returned cursor sees
    every change from every device exactly once, ``limit`` at a time.
    """
    rows = list(
        ProgressEvent.objects.filter(user=user, pk__gt=cursor)
        .order_by("pk")
        .values_list(
            "pk",
            "step_id",
            "step__track__slug",
            "from_status",
            "to_status",
            "occurred_at",
            "recorded_at",
            "source",
        )[: limit + 1]
    )
    changes = [ProgressChange(*row) for row in rows[:limit]]
    return ProgressChanges(
        changes=changes,
        cursor=changes[-1].id if changes else cursor,
        has_more=len(rows) > limit,
    )


# --- progress that follows a shared resource ---------------------------------------------


@dataclass(frozen=True)
class DoneElsewhere:
    """A step the learner has not finished whose primary resource they finished in
    another track: offered to mark done here too, never applied by itself."""

    step_id: int
    step_key: str
    step_title: str
    track_slug: str
    track_title: str
    resource_id: int
    resource_title: str
    #: The track where the learner finished a step on the same primary resource.
    done_in_slug: str
    done_in_title: str


def _primary_resource(step_ref: str) -> Subquery:
    """The step's primary resource: its first resource link."""
    return Subquery(
        StepResource.objects.filter(step_id=OuterRef(step_ref))
        .order_by("position", "id")
        .values("resource_id")[:1]
    )


def with_done_elsewhere(steps: QuerySet[Step], *, user_id: int) -> QuerySet[Step]:
    """The one rule of progress that follows a shared resource: ``steps`` annotated with
    ``done_in_slug`` and ``done_in_title``, the track where the learner finished the
    same primary resource, or null when the step is not offered.

    A current step of a published track, neither done nor skipped by the learner, is
    offered when its primary resource (its first link) is the primary resource of a
    current step they have done in another published track (the first such track in
    catalog order). Offered only: nothing is marked by itself.
    """
    finished_here = StepProgress.objects.filter(
        user_id=user_id, step_id=OuterRef("pk"), status__in=[Status.DONE, Status.SKIPPED]
    )
    done_there = (
        StepProgress.objects.filter(
            user_id=user_id,
            status=Status.DONE,
            step__retired_at__isnull=True,
            step__track__is_published=True,
            step__step_resources__resource_id=OuterRef("resource"),
        )
        .exclude(step__track_id=OuterRef("track_id"))
        .annotate(primary=_primary_resource("step_id"))
        .filter(primary=OuterRef("resource"))
        .order_by("step__track__position", "step__track__title", "step_id")
    )
    offered = Q(resource__isnull=False, retired_at__isnull=True, track__is_published=True) & ~Q(
        Exists(finished_here)
    )
    return steps.annotate(resource=_primary_resource("pk")).annotate(
        done_in_slug=Case(
            When(offered, then=Subquery(done_there.values("step__track__slug")[:1])),
            default=None,
        ),
        done_in_title=Case(
            When(offered, then=Subquery(done_there.values("step__track__title")[:1])),
            default=None,
        ),
    )


def done_elsewhere_for(*, user_id: int) -> list[DoneElsewhere]:
    """The steps of the tracks the learner follows that ``_with_done_elsewhere`` offers
    to mark done, in track order, then step order (1 query)."""
    steps = with_done_elsewhere(
        Step.objects.filter(track__enrollments__user_id=user_id), user_id=user_id
    )
    rows = (
        steps.filter(done_in_slug__isnull=False)  # type: ignore[misc]
        .annotate(
            resource_title=Subquery(
                Resource.objects.filter(pk=OuterRef("resource")).values("title")[:1]
            )
        )
        .order_by("track__position", "track__title", "position", "id")
        .values_list(
            "pk",
            "key",
            "title",
            "track__slug",
            "track__title",
            "resource",
            "resource_title",
            "done_in_slug",
            "done_in_title",
        )
    )
    return [DoneElsewhere(*row) for row in rows]


@dataclass(frozen=True)
class StepExtras:
    """What a learner's own row of a step shows besides its status."""

    #: Their note (Markdown) and links; empty when they keep none.
    note: str
    links: list[str]
    #: The track where they finished this step's primary resource, when it is offered
    #: to mark done here too: ``(slug, title)``.
    done_in: tuple[str, str] | None


def learner_step_extras(*, user_id: int, steps: QuerySet[Step]) -> dict[int, StepExtras]:
    """For each of ``steps``, the learner's note and whether it is done elsewhere, by step
    id; steps with neither are absent (1 query)."""
    note = StepNote.objects.filter(user_id=user_id, step_id=OuterRef("pk"))
    rows = (
        with_done_elsewhere(steps, user_id=user_id)
        .annotate(
            note_body=Subquery(note.values("body")[:1]),
            note_links=Subquery(note.values("links")[:1], output_field=JSONField()),
        )
        .values_list("pk", "note_body", "note_links", "done_in_slug", "done_in_title")
    )
    extras = {}
    for step_id, body, links, slug, title in rows:
        if body or links or slug:
            extras[step_id] = StepExtras(body or "", links or [], (slug, title) if slug else None)
    return extras


def step_note_for(*, user_id: int, step_id: int) -> StepNote | None:
    """The learner's own note on the step, if they kept one (1 query)."""
    return StepNote.objects.filter(user_id=user_id, step_id=step_id).first()


def bulk_action_for(*, user_id: int, action_id: str) -> BulkAction | None:
    """The learner's own bulk action ``action_id`` (never another learner's), or None."""
    try:
        return BulkAction.objects.select_related("track").get(user_id=user_id, pk=action_id)
    except (BulkAction.DoesNotExist, ValidationError, ValueError):
        return None


# --- pace and finish date ------------------------------------------------------------------

PACE_WINDOW_DAYS = 28
#: Below this, a pace is a guess: the learner is told there is too little history.
PACE_MIN_STEPS = 2


@dataclass(frozen=True)
class Pace:
    """The learner's own pace: the estimated minutes of the steps they finished, one by
    one (bulk marks are not study), over the last ``PACE_WINDOW_DAYS`` days."""

    minutes: int
    steps: int
    days: int = PACE_WINDOW_DAYS

    @property
    def enough_history(self) -> bool:
        return self.steps >= PACE_MIN_STEPS and self.minutes > 0

    @property
    def minutes_per_day(self) -> float:
        return self.minutes / self.days

    def finish_on(self, *, remaining_minutes: int, today: date) -> date | None:
        """When a track with ``remaining_minutes`` left would be finished at this pace:
        today when nothing is left, None when there is too little history to say."""
        if remaining_minutes <= 0:
            return today
        if not self.enough_history:
            return None
        return today + timedelta(days=math.ceil(remaining_minutes / self.minutes_per_day))


def learner_pace(*, user_id: int, now: datetime | None = None) -> Pace:
    """The learner's pace (1 query): the current steps they moved to done, step by step,
    in the last ``PACE_WINDOW_DAYS`` days and still done, with their estimated time."""
    since = (now or timezone.now()) - timedelta(days=PACE_WINDOW_DAYS)
    finished = (
        StepProgress.objects.filter(
            user_id=user_id, status=Status.DONE, step__retired_at__isnull=True
        )
        .filter(
            Exists(
                ProgressEvent.objects.study().filter(
                    user_id=user_id,
                    step_id=OuterRef("step_id"),
                    to_status=Status.DONE,
                    occurred_at__gte=since,
                )
            )
        )
        .aggregate(steps=Count("pk"), minutes=Sum("step__estimated_minutes"))
    )
    return Pace(minutes=finished["minutes"] or 0, steps=finished["steps"])
