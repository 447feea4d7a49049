"""A new learner's time zone: asked at sign-up (web and app), with the browser's zone
suggested there and on the account page; the server checks whatever arrives."""

import json
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-9"


def _signup(client, **extra):
    return client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD, **extra},
    )


class _Ids(HTMLParser):
    """Every id on a page, every aria-describedby reference, and every select's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[str] = []
        self.selects: dict[str, dict[str, str | None]] = {}
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        self.described_by += (found.get("aria-describedby") or "").split()
        if tag == "select":
            self.selects[found.get("name") or ""] = found
        if tag == "script" and found.get("src"):
            self.scripts.append(found["src"])


def _parse(html: str) -> _Ids:
    page = _Ids()
    page.feed(html)
    return page


def test_signup_asks_the_time_zone_and_suggests_the_browsers(client):
    page = _parse(client.get(reverse("account_signup")).content.decode())

    assert page.selects["timezone"]["data-suggest-timezone"] == "UTC"
    assert any(src.endswith("js/timezone.js") for src in page.scripts)


def test_signup_keeps_the_chosen_time_zone(client):
    _signup(client, timezone="Europe/Paris")

    assert User.objects.get(email="new@example.com").timezone == "Europe/Paris"


def test_signup_without_a_time_zone_is_utc(client):
    _signup(client)

    assert User.objects.get(email="new@example.com").timezone == "UTC"


def test_signup_refuses_an_unknown_time_zone(client):
    response = _signup(client, timezone="Mars/Olympus_Mons")

    assert response.status_code == 200
    assert "is not a time zone we know" in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_app_signs_up_with_its_time_zone():
    Client().post(
        "/_allauth/app/v1/auth/signup",
        json.dumps({"email": "app@example.com", "password": PASSWORD, "timezone": "Asia/Tokyo"}),
        content_type="application/json",
    )

    assert User.objects.get(email="app@example.com").timezone == "Asia/Tokyo"


def test_the_account_page_suggests_the_browsers_zone(client):
    client.force_login(UserFactory())

    page = _parse(client.get(reverse("accounts:profile")).content.decode())

    assert "data-suggest-timezone" in page.selects["timezone"]
    assert any(src.endswith("js/timezone.js") for src in page.scripts)


@pytest.mark.parametrize("url", ["accounts:profile", "reminders:preferences", "account_signup"])
def test_every_aria_describedby_names_an_element_of_the_page(client, url):
    client.force_login(UserFactory()) if url != "account_signup" else None

    page = _parse(client.get(reverse(url)).content.decode())

    assert page.described_by, "the page has described fields"
    assert set(page.described_by) <= page.ids, set(page.described_by) - page.ids


def test_signup_offers_each_zone_once_starting_at_utc(client):
    html = client.get(reverse("account_signup")).content.decode()

    assert html.count('<option value="UTC"') == 1
    assert '<option value="UTC" selected>' in html
    assert '<option value=""' not in html
