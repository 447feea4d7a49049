from django import forms

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
