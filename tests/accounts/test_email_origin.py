"""allauth's emails name the site by its public origin (SITE_URL), whatever host the
request came through and whatever the Site row said when the server started."""

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_origin(settings):
    # The server answers on an internal name; learners know it as learn.example.org.
    settings.SITE_URL = "https://learn.example.org"
    settings.ALLOWED_HOSTS = ["internal-node-7", "learn.example.org"]


def test_the_verification_email_names_the_public_origin(client, public_origin):
    client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
        HTTP_HOST="internal-node-7",
    )

    message = mail.outbox[-1]
    assert "register an account on learn.example.org." in message.body
    assert "127.0.0.1" not in message.body
    assert "internal-node-7" not in message.body
    hosts = set(re.findall(r"\b(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?\b", message.body))
    assert hosts <= {"learn.example.org", "example.com"}, hosts


def test_a_site_url_changed_without_a_migrate_is_used_at_once(client, settings, public_origin):
    # Given a server started with the Site row of an older SITE_URL (no migrate since)
    from django.contrib.sites.models import Site

    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": "old.example.net"})
    Site.objects.clear_cache()
    Site.objects.get_current()

    client.post(
        reverse("account_reset_password"),
        {"email": "nobody@example.com"},
        HTTP_HOST="internal-node-7",
    )

    (message,) = mail.outbox
    assert "learn.example.org" in message.body
    assert "old.example.net" not in message.body
