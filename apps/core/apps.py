from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


def site_domain_sync(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Keep the Site's domain on ``SITE_URL``: allauth and the admin read it for links."""
    if sender.name != "django.contrib.sites":
        return
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_URL).netloc
    if domain:
        Site.objects.using(using).update_or_create(
            pk=settings.SITE_ID, defaults={"domain": domain, "name": "Stepwise"}
        )


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Stepwise core"

    def ready(self) -> None:
        # After every migrate, so changing SITE_URL and deploying is enough.
        post_migrate.connect(site_domain_sync, dispatch_uid="site_domain_sync")
        # drf-spectacular learns of an OpenAPI extension when its module is imported.
        from apps.core.api import auth  # noqa: F401
