"""Reminder emails: HTML and plain-text parts from templates, with one-click unsubscribe."""

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from apps.core.http import site_url
from apps.reminders.selectors import EmailContext
from apps.reminders.tokens import KEEP_ON_SALT, UNSUBSCRIBE_SALT, token_make


def reminder_message_render(context: EmailContext) -> EmailMultiAlternatives:
    """One learner's email, ready to send (no queries)."""
    user = context.user
    unsubscribe_token = token_make(user_id=user.pk, salt=UNSUBSCRIBE_SALT)
    unsubscribe_url = site_url(reverse("reminders:unsubscribe", args=[unsubscribe_token]))
    values: dict[str, Any] = {
        "c": context,
        "name": user.name,
        "continue_url": site_url(
            reverse("learning:track", args=[context.track.slug])
            if context.track
            else reverse("learning:catalog")
        ),
        "preferences_url": site_url(reverse("reminders:preferences")),
        "unsubscribe_url": unsubscribe_url,
        "keep_on_url": site_url(
            reverse("reminders:keep_on", args=[token_make(user_id=user.pk, salt=KEEP_ON_SALT)])
        ),
        "site_url": settings.SITE_URL,
    }
    # Accounts have no language of their own: every email is in the site's.
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("reminders/email/subject.txt", values).split())
        text = render_to_string("reminders/email/reminder.txt", values)
        html = render_to_string("reminders/email/reminder.html", values)
    mailto = f"mailto:{settings.REMINDERS_UNSUBSCRIBE_MAILTO}?subject=" + quote(
        f"unsubscribe {unsubscribe_token}"
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.REMINDERS_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
