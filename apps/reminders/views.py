"""The learner's reminder preferences page and the signed links in reminder emails."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.reminders.forms import ReminderPreferencesForm
from apps.reminders.selectors import reminder_status_get
from apps.reminders.services import (
    reminder_preferences_update,
    reminders_keep_on,
    reminders_unsubscribe,
)
from apps.reminders.tokens import KEEP_ON_SALT, UNSUBSCRIBE_SALT, token_read


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    status = reminder_status_get(user=user)
    current = status.preferences
    form = ReminderPreferencesForm(
        request.POST or None,
        initial={
            "reminder_frequency": current.reminder_frequency,
            "reminder_weekday": current.reminder_weekday,
            "reminder_hour": "" if current.reminder_hour is None else current.reminder_hour,
            "weekly_goal": current.weekly_goal,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            reminder_preferences_update(user=user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, "Your reminder preferences are saved.")
            return redirect("reminders:preferences")
    status_code = 400 if request.method == "POST" else 200
    return render(
        request,
        "reminders/preferences.html",
        {"form": form, "status": status},
        status=status_code,
    )


def _signed_action(request: HttpRequest, token: str, *, salt: str, action: str) -> HttpResponse:
    try:
        user_id = token_read(token=token, salt=salt)
        user = User.objects.get(pk=user_id, is_active=True)
    except (ApplicationError, User.DoesNotExist) as exc:
        message = (
            exc.message
            if isinstance(exc, ApplicationError)
            else "This link is not valid; nothing was changed."
        )
        return render(
            request,
            "reminders/link_invalid.html",
            {"message": message, "action": action},
            status=400,
        )
    if request.method == "POST":
        if action == "unsubscribe":
            reminders_unsubscribe(user=user)
        else:
            reminders_keep_on(user=user)
        return render(request, "reminders/link_done.html", {"action": action, "email": user.email})
    return render(request, "reminders/link_confirm.html", {"action": action, "email": user.email})


# No CSRF token: mail clients POST here directly (RFC 8058 one-click), and the signed token
# in the URL is what authorises the change.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    return _signed_action(request, token, salt=UNSUBSCRIBE_SALT, action="unsubscribe")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def keep_on(request: HttpRequest, token: str) -> HttpResponse:
    return _signed_action(request, token, salt=KEEP_ON_SALT, action="keep_on")
