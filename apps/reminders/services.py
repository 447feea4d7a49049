"""State changes for reminders. Views, API views, admin, tasks and commands call these."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.reminders.models import ReminderPreferences

EDITABLE_FIELDS = ("reminder_frequency", "reminder_weekday", "reminder_hour", "weekly_goal")


@transaction.atomic
def reminder_preferences_update(*, user: User, **changes: Any) -> ReminderPreferences:
    """Change any of the four preference fields; creates the row on first use.

    Raises ``ValidationError`` with one message per field at fault (unknown fields included)
    and changes nothing then.
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(
            dict.fromkeys(unknown, "This is not a reminder preference."), code="unknown"
        )
    preferences, _ = ReminderPreferences.objects.select_for_update().get_or_create(user=user)
    for name, value in changes.items():
        setattr(preferences, name, value)
    preferences.full_clean(exclude=["user"])
    preferences.save()
    return preferences
