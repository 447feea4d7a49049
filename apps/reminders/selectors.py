"""Reads for reminders: a learner's preferences, who is due, and what their email says."""

from apps.accounts.models import User
from apps.reminders.models import ReminderPreferences


def reminder_preferences_get(*, user: User) -> ReminderPreferences:
    """The learner's saved preferences, or unsaved defaults when they never changed them.

    One query.
    """
    saved = ReminderPreferences.objects.filter(user=user).first()
    return saved if saved is not None else ReminderPreferences(user=user)
