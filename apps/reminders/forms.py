from typing import Any

from django import forms
from django.conf import settings

from apps.reminders.models import Frequency, Weekday

HOUR_CHOICES = [("", "When I usually study"), *((h, f"{h:02d}:00") for h in range(24))]


class ReminderPreferencesForm(forms.Form):
    reminder_frequency = forms.ChoiceField(label="Remind me", choices=Frequency.choices)
    reminder_weekday = forms.TypedChoiceField(
        label="On (weekly)", choices=Weekday.choices, coerce=int
    )
    reminder_hour = forms.TypedChoiceField(
        label="At (your local time)",
        choices=HOUR_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )
    weekly_goal = forms.IntegerField(
        label="Weekly goal (steps)", required=False, min_value=1, help_text="Optional."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weekly_goal"].widget.attrs["max"] = settings.REMINDERS_WEEKLY_GOAL_MAX
