"""Reads of roadmap content, shaped so callers cannot cause N+1 queries."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.content.models import ContentRevision, Step, StepResource, Track


def _step_aggregate(expression: Count | Sum) -> Subquery:
    return Subquery(
        Step.objects.filter(track=OuterRef("pk"))
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
    from apps.progress.models import Enrollment

    tracks = Track.objects.all()
    if published_only:
        tracks = tracks.filter(is_published=True)
    if search:
        tracks = tracks.filter(title__icontains=search)
    if level:
        tracks = tracks.filter(level=level)
    if goal:
        tracks = tracks.filter(goal=goal)
    learners = (
        Enrollment.objects.filter(track=OuterRef("pk"))
        .order_by()
        .values("track")
        .annotate(value=Count("user", distinct=True))
        .values("value")
    )
    revision = ContentRevision.objects.filter(pk=1).values("number")[:1]
    return tracks.annotate(
        content_revision=Coalesce(Subquery(revision), 0),
        step_count=Coalesce(_step_aggregate(Count("pk")), 0),
        total_minutes=Coalesce(_step_aggregate(Sum("estimated_minutes")), 0),
        learner_count=Coalesce(Subquery(learners, output_field=IntegerField()), 0),
    )


def track_goals() -> list[str]:
    """The distinct goals of published tracks, for the catalog's filter (1 query)."""
    return list(
        Track.objects.filter(is_published=True)
        .exclude(goal="")
        .order_by("goal")
        .values_list("goal", flat=True)
        .distinct()
    )


def track_steps(*, track: Track) -> QuerySet[Step]:
    """The track's steps in order, with prerequisites and resources loaded (3 queries)."""
    return (
        Step.objects.filter(track=track)
        .order_by("position", "id")
        .prefetch_related(
            Prefetch("prerequisites", queryset=Step.objects.only("id", "key", "title", "track_id")),
            Prefetch(
                "step_resources",
                queryset=StepResource.objects.select_related("resource").order_by("position", "id"),
            ),
        )
    )
