"""Reads for reminders: a learner's preferences, who is due, and what their email says."""

from apps.accounts.models import User
from apps.reminders.models import ReminderPreferences


def reminder_preferences_get(*, user: User) -> ReminderPreferences:
    """The learner's saved preferences, or unsaved defaults when they never changed them.

    One query (none when ``user`` was loaded with ``select_related("reminder_preferences")``).
    """
    try:
        return user.reminder_preferences
    except ReminderPreferences.DoesNotExist:
        return ReminderPreferences(user=user)
