"""The 12-week activity chart: squares big enough to see, whole weeks in columns so the
weekend rows line up with the weekdays, and the months named above."""

from datetime import date, timedelta

import pytest
from django.template.loader import render_to_string

from apps.learning.charts import activity_chart
from apps.progress.selectors import ActivityDay


def _days(today: date, counts: dict[date, int] | None = None) -> list[ActivityDay]:
    counts = counts or {}
    first = today - timedelta(weeks=12) + timedelta(days=1)
    return [
        ActivityDay(first + timedelta(days=n), counts.get(first + timedelta(days=n), 0))
        for n in range((today - first).days + 1)
    ]


@pytest.mark.parametrize("today", [date(2026, 4, 24) + timedelta(days=n) for n in range(7)])
def test_every_column_is_one_week_monday_first_and_only_the_last_is_short(today):
    chart = activity_chart(_days(today))

    columns: dict[int, list] = {}
    for cell in chart.cells:
        columns.setdefault(cell.x, []).append(cell)
    xs = sorted(columns)
    assert len(xs) == 12
    for x in xs[:-1]:
        assert [c.day.weekday() for c in columns[x]] == list(range(7)), x
        assert len({c.day - timedelta(days=c.day.weekday()) for c in columns[x]}) == 1
    # Today closes the last column, in its own weekday's row.
    last = columns[xs[-1]]
    assert last[0].day.weekday() == 0 and last[-1].day == today
    rows = {c.day.weekday(): c.y for c in chart.cells}
    assert all(c.y == rows[c.day.weekday()] for c in chart.cells)


def test_squares_are_at_least_14_px_and_the_labels_12_px():
    chart = activity_chart(_days(date(2026, 4, 24)))

    assert chart.square >= 14
    xs = sorted({c.x for c in chart.cells})
    assert xs[1] - xs[0] > chart.square  # a gap between the columns


def test_months_are_named_above_their_first_column():
    # From Monday 2 Feb to Friday 24 April 2026.
    chart = activity_chart(_days(date(2026, 4, 24)))

    labels = {label: x for x, label in chart.month_labels}
    assert list(labels) == ["Feb", "Mar", "Apr"]
    first_of = {c.day: c.x for c in chart.cells}
    assert labels["Mar"] == first_of[date(2026, 3, 2)]  # the first Monday of March
    assert labels["Apr"] == first_of[date(2026, 4, 6)]


def test_the_totals_count_the_days_drawn():
    today = date(2026, 4, 24)  # a Friday: the window starts on a Saturday
    first = today - timedelta(weeks=12) + timedelta(days=1)
    chart = activity_chart(_days(today, {first: 5, today: 2}))

    # The Saturday and Sunday before the first whole week are not drawn, nor counted.
    assert chart.total == 2 and chart.active_days == 1
    assert min(c.day for c in chart.cells) == first + timedelta(days=2)


def test_the_chart_renders_the_squares_and_the_month_names():
    chart = activity_chart(_days(date(2026, 4, 24), {date(2026, 4, 20): 3}))

    svg = render_to_string("learning/_activity_chart.html", {"chart": chart})

    assert svg.count('width="14" height="14"') == len(chart.cells)
    assert ">Mar</text>" in svg and ">Mon</text>" in svg
    assert "Mon 20 Apr: 3 changes" in svg
