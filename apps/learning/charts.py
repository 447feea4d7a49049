"""The activity chart: a 12-week calendar of squares, drawn as SVG by a template."""

from dataclasses import dataclass
from datetime import date, timedelta

from apps.learning.selectors import fingerprint
from apps.progress.selectors import ActivityDay

CELL = 12  # px per square, gap included
LABEL_WIDTH = 28
LEVELS = (0, 1, 3, 6)  # at least this many changes for levels 0..3 (4 = more)


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    level: int
    day: date
    count: int


@dataclass(frozen=True)
class ActivityChart:
    cells: list[Cell]
    width: int
    height: int
    total: int
    active_days: int
    weekday_labels: list[tuple[int, str]]

    @property
    def fingerprint(self) -> str:
        """Changes with what the chart shows: a cache key for the rendered chart."""
        return fingerprint([(c.day, c.count) for c in self.cells])


def _level(count: int) -> int:
    return sum(1 for threshold in LEVELS[1:] if count >= threshold) + (1 if count >= 10 else 0)


def activity_chart(days: list[ActivityDay]) -> ActivityChart:
    """Columns are weeks (Monday first), rows are weekdays."""
    if not days:
        return ActivityChart([], 0, 0, 0, 0, [])
    start = days[0].day - timedelta(days=days[0].day.weekday())
    cells = [
        Cell(
            x=LABEL_WIDTH + ((d.day - start).days // 7) * CELL,
            y=d.day.weekday() * CELL,
            level=_level(d.count),
            day=d.day,
            count=d.count,
        )
        for d in days
    ]
    weeks = (days[-1].day - start).days // 7 + 1
    return ActivityChart(
        cells=cells,
        width=LABEL_WIDTH + weeks * CELL,
        height=7 * CELL,
        total=sum(d.count for d in days),
        active_days=sum(1 for d in days if d.count),
        weekday_labels=[(0 * CELL + 9, "Mon"), (2 * CELL + 9, "Wed"), (4 * CELL + 9, "Fri")],
    )
