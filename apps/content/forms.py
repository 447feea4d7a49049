import re

from django import forms

from apps.content.importer import durations_find
from apps.content.models import Track


class TrackFilterForm(forms.Form):
    """The catalog's filters. Unknown values are form errors, never a crash."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    level = forms.ChoiceField(
        label="Level", required=False, choices=[("", "Any level"), *Track.Level.choices]
    )
    goal = forms.ChoiceField(label="Goal", required=False)

    def __init__(self, *args: object, goals: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["goal"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        field.choices = [("", "Any goal"), *((g, g) for g in goals)]

    def clean_q(self) -> str:
        value: str = self.cleaned_data["q"]
        if "\x00" in value:
            raise forms.ValidationError("Search text cannot contain NUL characters.")
        return value.strip()


def duration_parse(text: str) -> int:
    """Minutes from a duration as a curator writes it: ``90`` (minutes), ``45 min``,
    ``12 h``, ``1 h 30 min``, ``2 weeks`` (a week or a day counts the study hours the
    importer counts, ``STEPWISE_IMPORT_HOURS_PER_WEEK`` and ``_PER_DAY``). Anything else
    is a ValidationError that says what is understood."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    found = durations_find(text)
    rest = text
    for duration in found:
        rest = rest.replace(duration.phrase, " ", 1)
    if not found or re.sub(r"[\s,+]|and", "", rest):
        raise forms.ValidationError(
            f"“{text}” is not a duration: write minutes (90), or e.g. “45 min”, “12 h”, "
            "“1 h 30 min”, “2 weeks”."
        )
    return sum(duration.minutes for duration in found)


def duration_text(minutes: int | None) -> str:
    """Minutes written back exactly, as ``duration_parse`` reads them: ``9 h 38 min``."""
    if minutes is None:
        return ""
    hours, mins = divmod(int(minutes), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


class DurationField(forms.Field):
    """Minutes, entered and shown as a duration ("12 h", "2 weeks")."""

    widget = forms.TextInput(attrs={"size": 10, "placeholder": "e.g. 12 h"})

    def prepare_value(self, value: object) -> object:
        return duration_text(value) if isinstance(value, int) else value

    def to_python(self, value: object) -> int | None:
        if value in self.empty_values:
            return None
        minutes = duration_parse(str(value))
        if minutes > MAX_STEP_MINUTES:
            raise forms.ValidationError(
                f"{duration_text(minutes)} is more than a step can take "
                f"({duration_text(MAX_STEP_MINUTES)})."
            )
        return minutes


#: The longest a step can be estimated at: a year of full-time study.
MAX_STEP_MINUTES = 52 * 40 * 60
