from django.conf import settings
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as our views see it: django-htmx's middleware adds ``htmx``."""

    htmx: HtmxDetails


def site_url(path: str = "/") -> str:
    """An absolute link on the site's public origin (``SITE_URL``), for emails and feeds."""
    return settings.SITE_URL.rstrip("/") + path
