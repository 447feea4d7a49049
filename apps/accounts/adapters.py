"""allauth, as Stepwise uses it: every link in its emails points at the public origin."""

from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.sites.models import Site
from django.http import Http404, HttpRequest

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


class ProviderNotSetUp(SocialApp.DoesNotExist, Http404):
    """No social application for the provider: the sign-in API's forms still read it as
    the ``DoesNotExist`` they handle (a 400 naming the field), a page as a 404."""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-in with GitHub or Google is offered once a curator adds the provider's social
    application in the admin; until then its pages do not exist (404), where allauth would
    answer a server error to anyone who opened them."""

    def get_app(self, request: HttpRequest, provider: Any, client_id: Any = None) -> SocialApp:
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist as exc:
            raise ProviderNotSetUp(f"Sign-in with {provider} is not set up here.") from exc
