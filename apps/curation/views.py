"""The curator dashboard: staff only, server-rendered, figures from the refreshed tables."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.curation import selectors, services


@staff_member_required
def curation_dashboard(request: HttpRequest) -> HttpResponse:
    tracks = selectors.track_stats_list()
    selected = None
    wanted = request.GET.get("track")
    for row in tracks:
        if row.track.slug == wanted or (selected is None and not wanted):
            selected = row
    if wanted and selected is None:
        raise Http404("No such track.")
    funnel = selectors.funnel(track_id=selected.track_id) if selected else []
    weeks = selectors.week_stats()
    sent = sum(week.reminders_sent for week in weeks)
    followed = sum(week.reminded_progressed for week in weeks)
    context = {
        "state": selectors.refresh_state(),
        "tracks": tracks,
        "selected": selected,
        "funnel": funnel,
        "bar_width": selectors.FUNNEL_BAR_WIDTH,
        "funnel_height": len(funnel) * selectors.FUNNEL_ROW_HEIGHT,
        "resources": selectors.resource_stats_shown(),
        "resources_shown": settings.CURATION_RESOURCES_SHOWN,
        "weeks": weeks,
        "charts": [
            ("New learners", selectors.week_bars(weeks, "new_learners")),
            ("Active learners", selectors.week_bars(weeks, "active_learners")),
            ("Steps completed", selectors.week_bars(weeks, "steps_completed")),
        ],
        "reminders_sent": sent,
        "reminders_followed": followed,
        "reminders_followed_percent": followed * 100 // sent if sent else None,
    }
    return render(request, "curation/dashboard.html", context)


@staff_member_required
@require_POST
def curation_refresh_request(request: HttpRequest) -> HttpResponse:
    services.curation_refresh_request(full=request.POST.get("full") == "1")
    messages.success(request, "A refresh is on its way; reload the page in a moment.")
    return redirect("curation:dashboard")


class _Echo:
    """The csv writer writes to this, and gets back each line to stream."""

    def write(self, value: str) -> str:
        return value


def _rows(table: str) -> tuple[list[str], Iterable[Iterable[Any]]]:
    if table == "tracks":
        return (
            ["track", "title", "enrolled", "active_7d", "active_30d", "completed"],
            (
                (s.track.slug, s.track.title, s.enrolled, s.active_7d, s.active_30d, s.completed)
                for s in selectors.track_stats_list()
            ),
        )
    if table == "steps":
        return (
            [
                "track",
                "step",
                "title",
                "choice_group",
                "optional",
                "reached",
                "finished",
                "skipped",
                "stalled",
                "median_gap_seconds",
            ],
            (
                (
                    s.track.slug,
                    s.step.key,
                    s.step.title,
                    s.step.group.key if s.step.group else "",
                    "yes" if s.step.is_optional else "no",
                    s.reached,
                    s.finished,
                    s.skipped,
                    s.stalled,
                    "" if s.median_gap_seconds is None else s.median_gap_seconds,
                )
                for s in selectors.step_stats_all()
            ),
        )
    if table == "resources":
        return (
            [
                "url",
                "title",
                "steps",
                "tracks",
                "health",
                "reached",
                "skipped",
                "skip_percent",
                "reports",
                "open_reports",
            ],
            (
                (
                    s.resource.url,
                    s.resource.title,
                    s.steps,
                    s.tracks,
                    getattr(getattr(s.resource, "health", None), "health", "unknown"),
                    s.reached,
                    s.skipped,
                    "" if s.skip_percent is None else s.skip_percent,
                    s.reports,
                    s.open_reports,
                )
                for s in selectors.resource_stats().iterator(chunk_size=2000)
            ),
        )
    if table == "weeks":
        return (
            [
                "week",
                "new_learners",
                "active_learners",
                "steps_completed",
                "reminders_sent",
                "reminded_progressed",
            ],
            (
                (
                    w.week.isoformat(),
                    w.new_learners,
                    w.active_learners,
                    w.steps_completed,
                    w.reminders_sent,
                    w.reminded_progressed,
                )
                for w in selectors.week_stats()
            ),
        )
    raise Http404("No such table.")


def _safe(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula is quoted (titles and URLs come from
    curators and roadmap files)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@staff_member_required
def curation_csv(request: HttpRequest, table: str) -> StreamingHttpResponse:
    header, rows = _rows(table)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="stepwise-{table}.csv"'
    return response
