"""Durations as learners read them: exact when short, whole hours when long."""

import pytest

from apps.core.templatetags.stepwise import duration


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (None, "0 min"),
        (0, "0 min"),
        (45, "45 min"),
        (60, "1 h"),
        (150, "2 h 30 min"),
        (9 * 60 + 50, "9 h 50 min"),
        (10 * 60, "10 h"),
        (10 * 60 + 29, "10 h"),
        (10 * 60 + 30, "11 h"),
        (578 * 60 + 20, "578 h"),
    ],
)
def test_long_totals_are_rounded_to_the_hour(minutes, shown):
    assert duration(minutes) == shown
