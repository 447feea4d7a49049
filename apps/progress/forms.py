from django import forms

from apps.progress.models import Status


class StepStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=Status.choices,
        error_messages={
            "required": "Choose a status for the step.",
            "invalid_choice": "“%(value)s” is not a step status; choose to do, in progress, "
            "done or skipped.",
        },
    )
