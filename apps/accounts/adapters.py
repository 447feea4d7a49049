"""allauth, as Stepwise uses it: every link in its emails points at the public origin."""

from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.sites.models import Site
from django.http import HttpRequest

from apps.core.http import site_url

# Links allauth puts in an email's context, built from the request it was sent from.
_LINK_KEYS = ("password_reset_url", "signup_url", "activate_url")


def public_site() -> Site:
    """The site as an email names it ("register an account on learn.example.org"): its
    domain read from ``SITE_URL`` now. The Site row follows ``SITE_URL`` only from the
    next ``migrate`` on, and a running server keeps the row it read first."""
    return Site(id=settings.SITE_ID, domain=urlsplit(settings.SITE_URL).netloc, name="Stepwise")


def _on_public_origin(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return site_url(path)


class AccountAdapter(DefaultAccountAdapter):
    """A request reached through an internal host name, a proxy or a worker still sends
    links on ``SITE_URL``, the origin learners know."""

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _on_public_origin(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return _on_public_origin(super().get_email_confirmation_url(request, emailconfirmation))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        context["current_site"] = public_site()
        for key in _LINK_KEYS:
            if isinstance(context.get(key), str):
                context[key] = _on_public_origin(context[key])
        super().send_mail(template_prefix, email, context)
