import pytest
from django.core.exceptions import ValidationError

from apps.reminders.models import Frequency, ReminderPreferences
from apps.reminders.selectors import reminder_preferences_get
from apps.reminders.services import reminder_preferences_update

pytestmark = pytest.mark.django_db


def test_a_learner_without_a_row_gets_unsaved_defaults(learner, django_assert_num_queries):
    with django_assert_num_queries(1):  # 1 the preferences row (absent)
        preferences = reminder_preferences_get(user=learner)
    assert preferences.pk is None
    assert preferences.reminder_frequency == Frequency.WEEKLY
    assert preferences.reminder_weekday == 0
    assert preferences.reminder_hour is None
    assert preferences.weekly_goal is None


def test_update_creates_the_row_and_the_selector_reads_it(learner):
    reminder_preferences_update(
        user=learner, reminder_frequency="daily", reminder_hour=7, weekly_goal=5
    )
    saved = ReminderPreferences.objects.get(user=learner)
    assert (saved.reminder_frequency, saved.reminder_hour, saved.weekly_goal) == ("daily", 7, 5)
    learner.refresh_from_db()
    assert reminder_preferences_get(user=learner).pk == saved.pk


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reminder_frequency": "hourly"}, "reminder_frequency"),
        ({"reminder_weekday": 7}, "reminder_weekday"),
        ({"reminder_weekday": -1}, "reminder_weekday"),
        ({"reminder_hour": 24}, "reminder_hour"),
        ({"reminder_hour": "seven"}, "reminder_hour"),
        ({"weekly_goal": 0}, "weekly_goal"),
        ({"weekly_goal": 10_000}, "weekly_goal"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_values_raise_per_field_errors_and_change_nothing(learner, changes, field):
    reminder_preferences_update(user=learner, reminder_hour=9)
    with pytest.raises(ValidationError) as caught:
        reminder_preferences_update(user=learner, **{"weekly_goal": 3, **changes})
    assert field in caught.value.message_dict
    saved = ReminderPreferences.objects.get(user=learner)
    assert (saved.reminder_hour, saved.weekly_goal) == (9, None)


def test_clearing_the_hour_means_when_i_usually_study(learner):
    reminder_preferences_update(user=learner, reminder_hour=7)
    preferences = reminder_preferences_update(user=learner, reminder_hour=None)
    assert preferences.reminder_hour is None
