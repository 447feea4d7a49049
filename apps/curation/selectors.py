"""What the curator dashboard shows, read from the pre-aggregated tables only.

Every function here runs a fixed number of queries whatever the number of learners and
events: the figures were counted by ``services.curation_refresh``.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from apps.curation.models import RefreshState, ResourceStats, StepStats, TrackStats, WeekStats
from apps.curation.services import weeks_shown
from apps.linkhealth.outcomes import Outcome

#: Link health that needs a curator, first in the resources table.
ATTENTION = (Outcome.BROKEN, Outcome.ERROR, Outcome.MOVED)


#: Width in pixels of the widest funnel bar (the step most learners reached), and the
#: height of one step's row.
FUNNEL_BAR_WIDTH = 360
FUNNEL_ROW_HEIGHT = 22
#: Week charts: bar pitch and the height of the tallest bar, in pixels.
WEEK_BAR_PITCH = 24
WEEK_CHART_HEIGHT = 90


def duration_words(seconds: int) -> str:
    """A median gap as a curator reads it: "40 min", "5 h", "3 days"."""
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@dataclass(frozen=True)
class FunnelRow:
    stats: StepStats
    most_stalled: bool
    most_skipped: bool
    reached_width: int
    finished_width: int
    skipped_width: int
    y: int

    @property
    def median_gap(self) -> str | None:
        seconds = self.stats.median_gap_seconds
        return None if seconds is None else duration_words(seconds)


@dataclass(frozen=True)
class WeekBar:
    week: date
    value: int
    height: int
    x: int
    y: int


def refresh_state() -> RefreshState | None:
    return RefreshState.objects.filter(pk=1).first()


def track_stats_list() -> list[TrackStats]:
    return list(TrackStats.objects.select_related("track").order_by("track__position", "track__pk"))


def funnel(*, track_id: int) -> list[FunnelRow]:
    """A track's current steps in order, the steps where most learners stall and where
    most skip marked (none when nobody stalls or skips)."""
    rows = list(
        StepStats.objects.filter(track_id=track_id, step__retired_at__isnull=True)
        .select_related("step", "step__group")
        .order_by("step__position", "step__pk")
    )
    top_stalled = max((row.stalled for row in rows), default=0)
    top_skipped = max((row.skipped for row in rows), default=0)
    scale = max((row.reached for row in rows), default=0) or 1
    return [
        FunnelRow(
            stats=row,
            most_stalled=top_stalled > 0 and row.stalled == top_stalled,
            most_skipped=top_skipped > 0 and row.skipped == top_skipped,
            reached_width=row.reached * FUNNEL_BAR_WIDTH // scale,
            finished_width=row.finished * FUNNEL_BAR_WIDTH // scale,
            skipped_width=row.skipped * FUNNEL_BAR_WIDTH // scale,
            y=n * FUNNEL_ROW_HEIGHT,
        )
        for n, row in enumerate(rows)
    ]


def resource_stats() -> QuerySet[ResourceStats]:
    """Resources needing attention first: unhealthy links, open reports, most skipped."""
    return (
        ResourceStats.objects.select_related("resource", "resource__health")
        .annotate(
            unhealthy=Case(
                When(resource__health__health__in=ATTENTION, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-unhealthy", "-open_reports", "-skipped", "resource__title", "pk")
    )


def resource_stats_shown() -> list[ResourceStats]:
    return list(resource_stats()[: settings.CURATION_RESOURCES_SHOWN])


def week_stats() -> list[WeekStats]:
    """The weeks the charts show, oldest first; a week with no row yet shows zeros."""
    shown = weeks_shown(now=timezone.now())
    stored = {row.week: row for row in WeekStats.objects.filter(week__in=shown)}
    return [stored.get(week) or WeekStats(week=week, refreshed_at=timezone.now()) for week in shown]


def week_bars(weeks: list[WeekStats], attribute: str) -> list[WeekBar]:
    """One bar per week, scaled to the tallest; the bars stand on y = 20 + chart height."""
    values = [getattr(week, attribute) for week in weeks]
    top = max(values, default=0) or 1
    bars = []
    for n, (week, value) in enumerate(zip(weeks, values, strict=True)):
        height = value * WEEK_CHART_HEIGHT // top
        bars.append(
            WeekBar(
                week=week.week,
                value=value,
                height=height,
                x=n * WEEK_BAR_PITCH,
                y=20 + WEEK_CHART_HEIGHT - height,
            )
        )
    return bars


def step_stats_all() -> Iterator[StepStats]:
    """Every current step's figures, for the CSV (streamed)."""
    return (
        StepStats.objects.filter(step__retired_at__isnull=True)
        .select_related("step", "step__group", "track")
        .order_by("track__position", "track__pk", "step__position", "step__pk")
        .iterator(chunk_size=2000)
    )
