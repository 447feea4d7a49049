"""Reads of roadmap content, shaped so callers cannot cause N+1 queries."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.content.models import ChoiceGroup, ContentRevision, Step, StepResource, Track


def _step_aggregate(expression: Count | Sum) -> Subquery:
    return Subquery(
        Step.objects.current()
        .filter(track=OuterRef("pk"))
        .order_by()
        .values("track")
        .annotate(value=expression)
        .values("value"),
        output_field=IntegerField(),
    )


def track_list(
    *, published_only: bool = True, search: str = "", level: str = "", goal: str = ""
) -> QuerySet[Track]:
    """Tracks with ``step_count``, ``total_minutes``, ``learner_count`` and the
    ``content_revision`` (for caches of content) annotated.

    Each figure is its own subquery, so joins never multiply one another. Filters
    that are empty are not applied.
    """
    tracks = Track.objects.all()
    if published_only:
        tracks = tracks.filter(is_published=True)
    if search:
        tracks = tracks.filter(
            Q(title__icontains=search) | Q(summary__icontains=search) | Q(goal__icontains=search)
        )
    if level:
        tracks = tracks.filter(level=level)
    if goal:
        tracks = tracks.filter(goal=goal)
    return tracks.annotate(
        content_revision=content_revision_annotation(),
        step_count=Coalesce(_step_aggregate(Count("pk")), 0),
        total_minutes=Coalesce(_step_aggregate(Sum("estimated_minutes")), 0),
        learner_count=learner_count_annotation(),
    )


def track_published_get(*, slug: str) -> Track | None:
    """One published track with ``content_revision`` and ``learner_count`` (1 query).

    Lighter than ``track_list`` for a page that loads the steps anyway and can count
    them itself.
    """
    return (
        Track.objects.filter(is_published=True, slug=slug)
        .annotate(
            content_revision=content_revision_annotation(), learner_count=learner_count_annotation()
        )
        .first()
    )


def step_published_get(*, track_slug: str, key: str) -> Step | None:
    """One step of a published track, with its track and the track's ``content_revision``
    (1 query)."""
    step = (
        Step.objects.current()
        .filter(track__slug=track_slug, track__is_published=True, key=key)
        .select_related("track")
        .annotate(content_revision=content_revision_annotation())
        .first()
    )
    if step is not None:
        step.track.content_revision = step.content_revision  # type: ignore[attr-defined]
    return step


def content_revision_annotation() -> Coalesce:
    """The content revision, as an annotation (caches of content are keyed by it)."""
    revision = ContentRevision.objects.filter(pk=1).values("number")[:1]
    return Coalesce(Subquery(revision), 0)


def learner_count_annotation() -> Coalesce:
    """How many learners follow the track, as an annotation on tracks."""
    # Learners enroll through a relation a higher app declares (``Track.enrollments``):
    # content reaches it through the model's metadata, never by importing that app.
    enrollments = Track._meta.get_field("enrollments").related_model
    # One enrollment per learner and track (a unique constraint), so a plain count.
    learners = (
        enrollments._default_manager.filter(track=OuterRef("pk"))
        .order_by()
        .values("track")
        .annotate(value=Count("pk"))
        .values("value")
    )
    return Coalesce(Subquery(learners, output_field=IntegerField()), 0)


def track_goals() -> list[str]:
    """The distinct goals of published tracks, for the catalog's filter (1 query)."""
    return list(
        Track.objects.filter(is_published=True)
        .exclude(goal="")
        .order_by("goal")
        .values_list("goal", flat=True)
        .distinct()
    )


def track_steps(*, track: Track, links: QuerySet[StepResource] | None = None) -> QuerySet[Step]:
    """The track's current (not retired) steps in order, each with its choice group, its
    prerequisites (steps and groups) and its resource links loaded (4 queries).

    ``links``, when given, is the queryset the links are read from (an app above may
    annotate them); they come in their order whatever it says.
    """
    if links is None:
        links = StepResource.objects.all()
    return (
        Step.objects.current()
        .filter(track=track)
        .select_related("group")
        .order_by("position", "id")
        .prefetch_related(
            Prefetch(
                "prerequisites",
                queryset=Step.objects.current().only("id", "key", "title", "track_id"),
            ),
            Prefetch("prerequisite_groups", queryset=ChoiceGroup.objects.order_by("key")),
            Prefetch(
                "step_resources",
                queryset=links.select_related("resource").order_by("position", "id"),
            ),
        )
    )


@dataclass(frozen=True)
class GroupOfSteps:
    """A choice group as a track shows it: its current steps, in track order, and how
    many of them complete it (never more than it has)."""

    group: ChoiceGroup
    steps: list[Step]

    @property
    def required(self) -> int:
        return min(self.group.required, len(self.steps))


def groups_of_steps(steps: Iterable[Step]) -> list[GroupOfSteps]:
    """The choice groups of the given steps (loaded with ``group``, as ``track_steps``
    gives them), in the order of each group's first step. No query."""
    found: dict[int, GroupOfSteps] = {}
    for step in steps:
        if step.group_id is not None and step.group is not None:
            found.setdefault(step.group_id, GroupOfSteps(step.group, [])).steps.append(step)
    return list(found.values())
