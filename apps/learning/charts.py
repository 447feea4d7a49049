"""The activity chart: a 12-week calendar of squares, drawn as SVG by a template."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from apps.learning.selectors import fingerprint
from apps.progress.selectors import ActivityDay

SQUARE = 14  # px per day square, big enough to see and to point at
GAP = 3
CELL = SQUARE + GAP
LABEL_WIDTH = 32  # the weekday labels on the left
MONTH_ROW = 18  # the month labels above
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
    #: (x, "Mar"): above the first column of each month.
    month_labels: list[tuple[int, str]] = field(default_factory=list)
    square: int = SQUARE

    @property
    def fingerprint(self) -> str:
        """Changes with what the chart shows: a cache key for the rendered chart."""
        return fingerprint([(c.day, c.count) for c in self.cells])


def _level(count: int) -> int:
    return sum(1 for threshold in LEVELS[1:] if count >= threshold) + (1 if count >= 10 else 0)


def activity_chart(days: list[ActivityDay]) -> ActivityChart:
    """Columns are whole weeks, Monday to Sunday, rows are weekdays.

    The chart starts on the first Monday of ``days``, so every column but today's is a
    full week and the weekend rows line up with the weekdays: the few days before that
    Monday (the rest of a week older than the chart) are left out of the squares and of
    the totals alike. A month's name sits above the first column that starts in it.
    """
    first_monday = next((d.day for d in days if d.day.weekday() == 0), None)
    days = [d for d in days if first_monday is not None and d.day >= first_monday]
    if first_monday is None or not days:
        return ActivityChart([], 0, 0, 0, 0, [])
    cells = [
        Cell(
            x=LABEL_WIDTH + ((d.day - first_monday).days // 7) * CELL,
            y=MONTH_ROW + d.day.weekday() * CELL,
            level=_level(d.count),
            day=d.day,
            count=d.count,
        )
        for d in days
    ]
    weeks = (days[-1].day - first_monday).days // 7 + 1
    months: list[tuple[int, str]] = []
    for week in range(weeks):
        monday = first_monday + timedelta(weeks=week)
        if week == 0 or monday.month != (monday - timedelta(weeks=1)).month:
            months.append((LABEL_WIDTH + week * CELL, monday.strftime("%b")))
    # A label needs about three columns: the first one gives way when the next is close.
    if len(months) > 1 and months[1][0] - months[0][0] < 3 * CELL:
        months = months[1:]
    baseline = SQUARE // 2 + 4  # the labels' baseline, centred on a row
    return ActivityChart(
        cells=cells,
        width=LABEL_WIDTH + weeks * CELL,
        height=MONTH_ROW + 7 * CELL - GAP,
        total=sum(d.count for d in days),
        active_days=sum(1 for d in days if d.count),
        weekday_labels=[
            (MONTH_ROW + row * CELL + baseline, label)
            for row, label in ((0, "Mon"), (2, "Wed"), (4, "Fri"), (6, "Sun"))
        ],
        month_labels=months,
    )
