"""What a learner sees, composed from content, progress and link health."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.safestring import SafeString

from apps.accounts.models import User
from apps.content.models import (
    ChoiceGroup,
    Step,
    StepResource,
    Track,
    TrackChange,
)
from apps.content.selectors import (
    GroupOfSteps,
    content_revision_annotation,
    groups_of_steps,
    learner_count_annotation,
    track_list,
    track_steps,
)
from apps.core.compiled import CompiledQuery
from apps.learning.changelog import TrackChangelog, changelogs_for
from apps.learning.maps import track_map_svg
from apps.learning.models import TrackVisit
from apps.linkhealth.models import ResourceHealth
from apps.linkhealth.outcomes import Outcome
from apps.progress.models import Enrollment, ProgressEvent, Status, StepNote, StepProgress
from apps.progress.selectors import (
    Completion,
    Dashboard,
    DoneElsewhere,
    Pace,
    StepExtras,
    done_elsewhere_for,
    group_finished,
    learner_dashboard,
    learner_pace,
    learner_step_extras,
    learner_track_progress,
    track_completion_for,
    with_done_elsewhere,
)
from apps.reminders.selectors import WeeklyProgress, weekly_progress_get

FINISHED = frozenset({Status.DONE, Status.SKIPPED})


def fingerprint(facts: object) -> str:
    """A digest of what a rendered fragment shows (``facts`` has a faithful ``repr``):
    with it in the key, a cached fragment is never stale."""
    return hashlib.sha256(repr(facts).encode()).hexdigest()


@dataclass(frozen=True)
class StepView:
    step: Step
    status: str
    #: Prerequisites (steps, choice groups) not yet finished (the step can still be marked).
    waiting_on: list[Step | ChoiceGroup]
    #: All the step's prerequisites (steps, then choice groups) and its resource links,
    #: in order.
    prerequisites: list[Step | ChoiceGroup]
    links: list[StepResource]
    #: The learner's note, and the track where they finished this step's primary
    #: resource when it is offered to mark done here too (None for a visitor).
    extras: StepExtras | None = None

    is_group = False


@dataclass(frozen=True)
class GroupView:
    """A choice group on the track page: its steps, shown together as "choose one"."""

    group: ChoiceGroup
    #: How many of its steps complete it.
    required: int
    #: Its steps (the page's rows; empty when only its heading is shown again).
    steps: list[StepView]
    #: How many steps it has.
    size: int
    #: Whether the learner finished it (None for a visitor).
    finished: bool | None = None

    is_group = True


class TrackView:
    """A track page's data. The figures come at once; the steps (4 queries) only when
    read, so a page whose step list is cached never loads them."""

    def __init__(
        self,
        *,
        track: Track,
        statuses: dict[int, str] | None,
        completion: Completion | None,
        user_id: int | None = None,
    ) -> None:
        self.track = track
        self.user_id = user_id
        #: The learner's status by step id (None for a visitor); untouched steps absent.
        self.statuses = statuses
        self.completion = completion

    @cached_property
    def steps(self) -> list[StepView]:
        statuses = self.statuses or {}
        steps = list(track_steps(track=self.track, links=_links_with_health()))
        finished_groups = _finished_groups(groups_of_steps(steps), statuses)
        extras: dict[int, StepExtras] = {}
        if self.user_id is not None:
            extras = learner_step_extras(
                user_id=self.user_id, steps=Step.objects.filter(track=self.track)
            )
        empty = StepExtras(note="", links=[], done_in=None) if self.user_id is not None else None
        views = []
        for step in steps:
            prerequisites: list[Step | ChoiceGroup] = [
                *step.prerequisites.all(),
                *step.prerequisite_groups.all(),
            ]
            waiting_on = [
                p
                for p in prerequisites
                if not (
                    p.pk in finished_groups
                    if isinstance(p, ChoiceGroup)
                    else statuses.get(p.pk, Status.TODO) in FINISHED
                )
            ]
            views.append(
                StepView(
                    step,
                    statuses.get(step.pk, Status.TODO),
                    waiting_on if self.statuses is not None else [],
                    prerequisites,
                    list(step.step_resources.all()),
                    extras.get(step.pk, empty),
                )
            )
        return views

    @cached_property
    def map_svg(self) -> SafeString:
        """The track drawn as a map, with the learner's statuses (``maps``)."""
        return track_map_svg(
            items=self.items, signed_in=self.statuses is not None, title=self.track.title
        )

    @cached_property
    def next_step(self) -> StepView | None:
        """The learner's next step on the page, from the steps already read (no query):
        the first step not done or skipped, outside a finished choice group, waiting on
        nothing, as ``next_steps_for_pairs`` picks it for the dashboard. None for a
        visitor, or when every step left waits on another."""
        if self.statuses is None:
            return None
        finished_groups = _finished_groups(
            groups_of_steps(view.step for view in self.steps), self.statuses
        )
        return next(
            (
                view
                for view in self.steps
                if view.status not in FINISHED
                and view.step.group_id not in finished_groups
                and not view.waiting_on
            ),
            None,
        )

    @cached_property
    def link_health(self) -> dict[int, str]:
        """The link health (``ok``, ``broken``...) of the track's resources, read with
        the steps."""
        return {
            link.resource_id: link.health  # type: ignore[attr-defined]
            for view in self.steps
            for link in view.links
        }

    @cached_property
    def items(self) -> list[StepView | GroupView]:
        """The steps in order, each choice group's steps gathered where its first one is."""
        items: list[StepView | GroupView] = []
        groups: dict[int, GroupView] = {}
        found = groups_of_steps(v.step for v in self.steps)
        members = {g.group.pk: len(g.steps) for g in found}
        finished = _finished_groups(found, self.statuses or {})
        for view in self.steps:
            group = view.step.group
            if group is None:
                items.append(view)
                continue
            if group.pk not in groups:
                size = members[group.pk]
                groups[group.pk] = GroupView(
                    group,
                    min(group.required, size),
                    [],
                    size,
                    None if self.statuses is None else group.pk in finished,
                )
                items.append(groups[group.pk])
            groups[group.pk].steps.append(view)
        return items


def _finished_groups(groups: Iterable[GroupOfSteps], statuses: dict[int, str]) -> set[int]:
    """The ids of the choice groups the learner finished, from their statuses."""
    finished = set()
    for entry in groups:
        mine = [statuses.get(step.pk, Status.TODO) for step in entry.steps]
        if group_finished(
            required=entry.required,
            steps=len(mine),
            done=mine.count(Status.DONE),
            skipped=mine.count(Status.SKIPPED),
        ):
            finished.add(entry.group.pk)
    return finished


class TrackPage:
    """A track page: the track with its figures, and the version of what its rendered
    progress and step list show (``track_page_for``). The learner's statuses, the link
    health and the steps are read only when asked for, so a page whose progress and
    list are cached never reads them.
    """

    def __init__(
        self, *, track: Track, user: User | None, version: str, last_event: int | None = None
    ) -> None:
        self.track = track
        self.user = user if user is not None and user.is_authenticated else None
        self.version = version
        #: The learner's last progress event (their pace is measured as of it).
        self.last_event = last_event
        #: The newest change to the track when the learner may not have been told of it.
        self.unseen_up_to: int | None = None

    @cached_property
    def view(self) -> TrackView:
        return track_view_for(track=self.track, user=self.user)

    @property
    def completion(self) -> Completion | None:
        return self.view.completion

    @property
    def link_health(self) -> dict[int, str]:
        return self.view.link_health

    @property
    def steps(self) -> list[StepView]:
        return self.view.steps

    @property
    def items(self) -> list[StepView | GroupView]:
        return self.view.items

    @property
    def next_step(self) -> StepView | None:
        return self.view.next_step

    @property
    def map_svg(self) -> SafeString:
        return self.view.map_svg

    @cached_property
    def finish_on(self) -> date | None:
        """When the learner would finish the track at their pace (None: a visitor, or
        too little history)."""
        if self.user is None or self.completion is None:
            return None
        pace = learner_pace_today(user=self.user, last_event=self.last_event)
        return pace.finish_on(
            remaining_minutes=self.completion.remaining_minutes, today=self.user.local_today()
        )


def _track_versions(*, slug: str, learner_id: int) -> QuerySet[Any, Any]:
    """The versions query of ``track_page_for`` (one row, or none)."""
    # Any event, not only this track's: a step finished in another track is offered here.
    events = ProgressEvent.objects.filter(user_id=learner_id)
    notes = StepNote.objects.filter(user_id=learner_id, step__track_id=OuterRef("pk"))
    health = ResourceHealth.objects.filter(
        resource__step_links__step__track_id=OuterRef("pk")
    ).order_by()
    return (
        Track.objects.filter(is_published=True, slug=slug)
        .annotate(
            revision=content_revision_annotation(),
            progress_version=Subquery(events.order_by("-id").values("id")[:1]),
            # A note is emptied, never deleted, so its time only moves forward.
            notes_version=Subquery(notes.order_by("-updated_at").values("updated_at")[:1]),
            # Curators' changes the learner may not have been told of yet (the changelog
            # itself is read only when there are).
            latest_change=Subquery(
                TrackChange.objects.filter(track_id=OuterRef("pk")).order_by("-id").values("id")[:1]
            ),
            seen_change=Subquery(
                TrackVisit.objects.filter(user_id=learner_id, track_id=OuterRef("pk")).values(
                    "seen_change_id"
                )[:1]
            ),
            broken_links=Subquery(
                health.filter(health=Outcome.BROKEN)
                .values("health")
                .annotate(n=Count("resource_id", distinct=True))
                .values("n")
            ),
            health_changed=Subquery(
                health.values("resource__step_links__step__track_id")
                .annotate(at=Max("health_changed_at"))
                .values("at")
            ),
        )
        .values_list(
            "pk",
            "revision",
            "progress_version",
            "notes_version",
            "broken_links",
            "health_changed",
            "latest_change",
            "seen_change",
        )[:1]
    )


#: Compiled once per process (no slug contains NUL, no user id is negative).
_TRACK_VERSIONS = CompiledQuery(_track_versions, slug="\x00slug", learner_id=-(2**62))


def track_page_for(*, slug: str, user: User | None) -> TrackPage | None:
    """The published track ``slug`` for the learner's page (a visitor's when ``user`` is
    anonymous), or None, in 1 query when its figures are cached (2 when not).

    The query reads the versions of what the page shows: the content revision, the
    learner's last event (every status change is one), their latest note on the track,
    and the count and latest change of its links' health. The track with its figures
    (``track_list``) is kept by content revision for ``STEPWISE_TRACK_FIGURES_SECONDS``:
    its count of learners may lag that long behind, nothing else can.
    """
    learner_id = user.pk if user is not None and user.is_authenticated else 0  # 0: no one
    row = _TRACK_VERSIONS.first(slug=slug, learner_id=learner_id)
    if row is None:
        return None
    track_id, revision = row[0], row[1]
    key = f"track-figures:{track_id}:{revision}"
    track: Track | None = cache.get(key)
    if track is None:
        track = track_list(published_only=False).get(pk=track_id)
        cache.set(key, track, settings.STEPWISE_TRACK_FIGURES_SECONDS)
    # The finish date moves with the learner's day.
    today = user.local_today() if user is not None and user.is_authenticated else None
    page = TrackPage(
        track=track,
        user=user,
        # What the learner was told of moves on each visit; the cached parts do not show it.
        version=fingerprint((row[:6], today)),
        last_event=row[2],
    )
    latest_change, seen_change = row[6] or 0, row[7] or 0
    page.unseen_up_to = latest_change if latest_change > seen_change else None
    return page


def learner_pace_cache_key(user: User) -> str:
    return f"learner-pace:{user.pk}:{user.local_today().isoformat()}"


def learner_pace_today(*, user: User, last_event: int | None) -> Pace:
    """The learner's pace (``learner_pace``), kept in the cache for the day while their
    last event is ``last_event``: 1 query after a change, none before the next."""
    key = learner_pace_cache_key(user)
    cached: tuple[int | None, Pace] | None = cache.get(key)
    if cached is not None and cached[0] == last_event:
        return cached[1]
    pace = learner_pace(user_id=user.pk)
    cache.set(key, (last_event, pace), 24 * 3600)
    return pace


def learner_pace_cached(*, user: User) -> Pace | None:
    """The pace last measured today, whatever happened since, or None (no query)."""
    cached: tuple[int | None, Pace] | None = cache.get(learner_pace_cache_key(user))
    return cached[1] if cached is not None else None


def _links_with_health() -> QuerySet[StepResource]:
    """Resource links, each with the health of its resource (``unknown`` if unchecked)."""
    return StepResource.objects.annotate(
        health=Coalesce("resource__health__health", Value(Outcome.UNKNOWN.value))
    )


def track_view_for(*, track: Track, user: User | None) -> TrackView:
    """The track's figures for the learner (or a visitor): none for a visitor; for a
    signed-in learner 1 query (their statuses and completion, from
    ``learner_track_progress``). Reading ``steps`` adds the 4 of ``track_steps`` (the
    links with their health), and for a learner 1 more (their notes and what they
    finished elsewhere).
    """
    if user is None or not user.is_authenticated:
        return TrackView(track=track, statuses=None, completion=None)
    progress = learner_track_progress(user_id=user.pk, track_id=track.pk)
    return TrackView(
        track=track,
        statuses=progress.statuses,
        completion=progress.completion,
        user_id=user.pk,
    )


def _dashboard_versions(*, user_id: int) -> QuerySet[Any, Any]:
    """The version query of ``learner_dashboard_for`` (one row)."""
    enrollments = Enrollment.objects.filter(user_id=OuterRef("pk")).order_by().values("user_id")
    return (
        User.objects.filter(pk=user_id)
        .annotate(
            last_event=Subquery(
                ProgressEvent.objects.filter(user_id=OuterRef("pk"))
                .order_by("-id")
                .values("id")[:1]
            ),
            enrolled=Subquery(enrollments.annotate(n=Count("pk")).values("n")),
            last_activity=Subquery(enrollments.annotate(at=Max("last_activity_at")).values("at")),
            revision=content_revision_annotation(),
            goal=F("reminder_preferences__weekly_goal"),
            # What curators changed on their tracks, and what they were last told of.
            latest_change=Subquery(
                TrackChange.objects.filter(track__enrollments__user_id=OuterRef("pk"))
                .order_by("-id")
                .values("id")[:1]
            ),
            told=Subquery(
                TrackVisit.objects.filter(user_id=OuterRef("pk"))
                .order_by()
                .values("user_id")
                .annotate(at=Max("seen_at"))
                .values("at")
            ),
        )
        .values_list(
            "last_event",
            "enrolled",
            "last_activity",
            "revision",
            "goal",
            "latest_change",
            "told",
        )[:1]
    )


#: Compiled once per process (no user id is negative).
_DASHBOARD_VERSIONS = CompiledQuery(_dashboard_versions, user_id=-(2**62))


def learner_dashboard_for(*, user: User) -> "LearnerDashboard":
    """``learner_dashboard``, ``done_elsewhere_for``, the learner's pace and their week
    against their weekly goal, kept in the cache until the learner's progress, their
    enrollments, the content or their local day change: 1 query when none did (the
    version below), 1 + 7 + 3 when one did. The weekly goal's changes are in the
    version too.
    """
    today = user.local_today()
    row = _DASHBOARD_VERSIONS.first(user_id=user.pk)
    version, changes_version = (row[:5], row[5:]) if row else (None, None)
    key = f"learner-dashboard:{user.pk}:{fingerprint((version, today))}"
    cached: LearnerDashboard | None = cache.get(key)
    if cached is None:
        cached = LearnerDashboard(
            learner_dashboard(user=user, today=today),
            done_elsewhere_for(user_id=user.pk),
            learner_pace(user_id=user.pk),
            weekly_progress_get(user=user),
        )
        cache.set(key, cached, settings.STEPWISE_LEARNER_FRAGMENT_SECONDS)
    return replace(cached, changes_version=fingerprint((version, changes_version)))


@dataclass(frozen=True)
class LearnerDashboard:
    dashboard: Dashboard
    #: Steps of their tracks whose primary resource they finished in another track.
    done_elsewhere: list[DoneElsewhere]
    pace: Pace
    weekly: WeeklyProgress
    #: Moves when curators change one of the learner's tracks, or the learner is told of
    #: changes: the cache key of what the dashboard says changed (``changelogs_for``).
    changes_version: str = ""

    def finish_on(self, completion: Completion) -> date | None:
        """When the learner would finish a track at their pace (None: too little history)."""
        return self.pace.finish_on(
            remaining_minutes=completion.remaining_minutes, today=self.dashboard.today
        )


def dashboard_changelogs_for(
    *, user: User, dashboard: LearnerDashboard
) -> dict[int, TrackChangelog]:
    """What changed on the learner's tracks since they were last told (``changelogs_for``),
    kept in the cache apart from the dashboard, as it moves with their visits too: no
    query while ``dashboard.changes_version`` holds, 1 when it moved."""
    key = f"learner-changelogs:{user.pk}:{dashboard.changes_version}"
    changelogs: dict[int, TrackChangelog] | None = cache.get(key)
    if changelogs is None:
        changelogs = changelogs_for(
            user_id=user.pk, track_ids=[e.track.pk for e in dashboard.dashboard.enrollments]
        )
        cache.set(key, changelogs, settings.STEPWISE_LEARNER_FRAGMENT_SECONDS)
    return changelogs


@dataclass(frozen=True)
class StepChangeView:
    """What a status change shows: the step, the steps whose "waiting on" notice it
    changed, and the learner's completion of the track."""

    item: StepView
    dependents: list[StepView]
    completion: Completion
    link_health: dict[int, str]
    #: The choice group of the step, when it has one: its heading says whether it is done.
    group: GroupView | None = None


def _group_count(group_ref: str, *, user_id: int | None = None, status: str = "") -> Coalesce:
    """How many current steps the group has or, given a learner and a status, how many of
    them the learner has in that status."""
    counted: QuerySet[Any, Any]
    if user_id is None:
        counted = (
            Step.objects.current()
            .filter(group_id=OuterRef(group_ref))
            .order_by()
            .values("group_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
    else:
        counted = (
            StepProgress.objects.filter(
                user_id=user_id,
                status=status,
                step__group_id=OuterRef(group_ref),
                step__retired_at__isnull=True,
            )
            .order_by()
            .values("step__group_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
    return Coalesce(Subquery(counted), Value(0))


def _status_of(user_id: int, step_ref: str) -> Coalesce:
    mine = StepProgress.objects.filter(user_id=user_id, step_id=OuterRef(step_ref))
    return Coalesce(Subquery(mine.values("status")[:1]), Value(Status.TODO))


def step_change_view_for(
    *, step: Step, user: User, status: str, previous: str | None
) -> StepChangeView:
    """The step the learner just marked ``status`` (from ``previous``; None when nothing
    changed), in 4 queries whatever the size of the track:

    1. the prerequisite edges of the step and of its dependents (the steps that have it,
       or its choice group, as a prerequisite), with both ends and the learner's status
       on each;
    2. the choice-group prerequisites of those same steps, each group with how many of
       its steps the learner did and skipped (and the dependents' own status);
    3. the resource links of the step and of those dependents, with their link health;
    4. the learner's completion of the track.

    A dependent's notice changes only when the step moved into or out of done or
    skipped, so only then are dependents read at all.
    """
    edges_model = Step.prerequisites.through
    group_edges_model = Step.prerequisite_groups.through
    flipped = previous is not None and (previous in FINISHED) != (status in FINISHED)
    scope = Q(from_step_id=step.pk)
    group_scope = Q(step_id=step.pk)
    if flipped:
        step_dependents = edges_model.objects.filter(to_step_id=step.pk).values("from_step_id")
        scope |= Q(from_step_id__in=step_dependents)
        group_scope |= Q(step_id__in=step_dependents)
        if step.group_id is not None:
            group_dependents = group_edges_model.objects.filter(
                choicegroup_id=step.group_id
            ).values("step_id")
            scope |= Q(from_step_id__in=group_dependents)
            group_scope |= Q(step_id__in=group_dependents)
    edges = list(
        edges_model.objects.filter(
            scope, from_step__retired_at__isnull=True, to_step__retired_at__isnull=True
        )
        .select_related("from_step", "to_step")
        .annotate(
            from_status=_status_of(user.pk, "from_step_id"),
            to_status=_status_of(user.pk, "to_step_id"),
        )
        .order_by("from_step__position", "from_step_id", "to_step__position", "to_step_id")
    )
    group_edges = list(
        group_edges_model.objects.filter(group_scope, step__retired_at__isnull=True)
        .select_related("step", "choicegroup")
        .annotate(
            step_status=_status_of(user.pk, "step_id"),
            members=_group_count("choicegroup_id"),
            done=_group_count("choicegroup_id", user_id=user.pk, status=Status.DONE),
            skipped=_group_count("choicegroup_id", user_id=user.pk, status=Status.SKIPPED),
        )
        .order_by("step__position", "step_id", "choicegroup__key")
    )
    steps: dict[int, tuple[Step, str]] = {step.pk: (step, status)}
    prerequisites: dict[int, list[tuple[Step | ChoiceGroup, bool]]] = {step.pk: []}
    for edge in edges:
        from_status: str = edge.from_status  # type: ignore[attr-defined]
        steps.setdefault(edge.from_step_id, (edge.from_step, from_status))
        prereq_status: str = status if edge.to_step_id == step.pk else edge.to_status  # type: ignore[attr-defined]
        prerequisites.setdefault(edge.from_step_id, []).append(
            (edge.to_step, prereq_status in FINISHED)
        )
    for group_edge in group_edges:
        steps.setdefault(group_edge.step_id, (group_edge.step, group_edge.step_status))  # type: ignore[attr-defined]
        finished = group_finished(
            required=group_edge.choicegroup.required,
            steps=group_edge.members,  # type: ignore[attr-defined]
            done=group_edge.done,  # type: ignore[attr-defined]
            skipped=group_edge.skipped,  # type: ignore[attr-defined]
        )
        prerequisites.setdefault(group_edge.step_id, []).append((group_edge.choicegroup, finished))

    # A step's offer to mark it done here too comes with its links: it needs a primary
    # resource, its first link, so a step without links has none.
    offer = with_done_elsewhere(Step.objects.filter(pk=OuterRef("step_id")), user_id=user.pk)
    links: dict[int, list[StepResource]] = {pk: [] for pk in steps}
    done_in: dict[int, tuple[str, str]] = {}
    for link in (
        _links_with_health()
        .filter(step_id__in=steps)
        .select_related("resource")
        .annotate(
            done_in_slug=Subquery(offer.values("done_in_slug")[:1]),  # type: ignore[misc]
            done_in_title=Subquery(offer.values("done_in_title")[:1]),  # type: ignore[misc]
        )
        .order_by("position", "id")
    ):
        links[link.step_id].append(link)
        if link.done_in_slug:
            done_in[link.step_id] = (link.done_in_slug, link.done_in_title)

    def view(pk: int) -> StepView:
        own, own_status = steps[pk]
        prereqs = prerequisites.get(pk, [])
        return StepView(
            own,
            own_status,
            [p for p, met in prereqs if not met],
            [p for p, _ in prereqs],
            links[pk],
            # The note is not read: the page keeps the one it shows (hx-preserve).
            StepExtras(note="", links=[], done_in=done_in.get(pk)),
        )

    dependents = [
        view(pk)
        for pk, (_, own_status) in steps.items()
        if pk != step.pk and own_status not in FINISHED
    ]
    return StepChangeView(
        item=view(step.pk),
        dependents=dependents,
        completion=track_completion_for(user_id=user.pk, track_id=step.track_id),
        link_health={
            link.resource_id: link.health  # type: ignore[attr-defined]
            for step_links in links.values()
            for link in step_links
        },
        group=_group_view_for(group_id=step.group_id, user_id=user.pk),
    )


def _group_view_for(*, group_id: int | None, user_id: int) -> GroupView | None:
    """A choice group's heading for the learner: 1 query, none for a step outside a group."""
    if group_id is None:
        return None
    group = (
        ChoiceGroup.objects.filter(pk=group_id)
        .annotate(
            members=_group_count("pk"),
            done=_group_count("pk", user_id=user_id, status=Status.DONE),
            skipped=_group_count("pk", user_id=user_id, status=Status.SKIPPED),
        )
        .first()
    )
    if group is None:
        return None
    members: int = group.members
    finished = group_finished(
        required=group.required, steps=members, done=group.done, skipped=group.skipped
    )
    return GroupView(group, min(group.required, members), [], members, finished)


@dataclass(frozen=True)
class TrackDetailVersion:
    """Everything a track's API answer for one learner (or a visitor) depends on that can
    change: equal versions, equal answers."""

    track_id: int
    content_revision: int
    learner_count: int
    #: The learner's latest progress event (every status change is one); None if none.
    last_event: int | None

    def cache_key(self, learner_id: int) -> str:
        return (
            f"api:v1:track-detail:{self.track_id}:{self.content_revision}:"
            f"{self.learner_count}:{learner_id}:{self.last_event}"
        )


def _track_detail_versions(*, slug: str, learner_id: int) -> QuerySet[Any, Any]:
    """The version query of ``track_detail_version`` (one row, or none)."""
    return (
        Track.objects.filter(slug=slug, is_published=True)
        .annotate(
            revision=content_revision_annotation(),
            learners=learner_count_annotation(),
            last_event=Subquery(
                ProgressEvent.objects.filter(user_id=learner_id).order_by("-id").values("id")[:1]
            ),
        )
        .values_list("pk", "revision", "learners", "last_event")[:1]
    )


#: Compiled once per process, as the web page's (no slug contains NUL, no id is negative).
_TRACK_DETAIL_VERSIONS = CompiledQuery(_track_detail_versions, slug="\x00slug", learner_id=-(2**62))


def track_detail_version(*, slug: str, learner_id: int) -> TrackDetailVersion | None:
    """The version of the published track ``slug`` as ``learner_id`` (0: a visitor) sees it
    in the API, or None: 1 query. The answer built for a version can be kept and served
    again while the version holds."""
    row = _TRACK_DETAIL_VERSIONS.first(slug=slug, learner_id=learner_id)
    return None if row is None else TrackDetailVersion(*row)
