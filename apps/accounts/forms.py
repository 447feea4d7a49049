from django import forms
from django.http import HttpRequest

from apps.accounts.models import User
from apps.accounts.services import user_profile_update
from apps.accounts.validators import available_timezones


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


def timezone_field(*, required: bool) -> forms.ChoiceField:
    """A time zone picker. ``js/timezone.js`` suggests the browser's zone in it while it
    still says UTC (or nothing); the server checks the zone as any other choice."""
    return forms.ChoiceField(
        label="Time zone",
        required=required,
        help_text="Used for your streak and your reminder hour.",
        error_messages={"invalid_choice": "“%(value)s” is not a time zone we know."},
        widget=forms.Select(attrs={"data-suggest-timezone": "UTC"}),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(label="Display name", max_length=100, required=False)
    timezone = timezone_field(required=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        field.choices = timezone_choices()


class SignupTimezoneForm(forms.Form):
    """What sign-up asks besides allauth's email and password (``ACCOUNT_SIGNUP_FORM_CLASS``):
    the time zone, UTC unless the learner (or their browser) says otherwise. The web form
    and the app API (allauth headless) take it alike."""

    timezone = timezone_field(required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)  # noqa: S101 - narrows the type
        field.choices = timezone_choices()
        field.initial = "UTC"

    def signup(self, request: HttpRequest, user: User) -> None:
        zone = self.cleaned_data.get("timezone")
        if zone and zone != user.timezone:
            user_profile_update(user=user, timezone=zone)


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: object, user: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):  # type: ignore[attr-defined]
            raise forms.ValidationError("That is not your password; the account was kept.")
        return password
