"""Security a deployment relies on: staff sign-in limits and MFA, no inline script anywhere,
links in email on the public origin."""

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command

from apps.accounts.services import curators_group_ensure
from tests.factories import StepFactory, UserFactory

PASSWORD = "a-good-passphrase"


@pytest.fixture
def curator(db):
    user = UserFactory(email="curator@example.com", is_staff=True)
    user.groups.add(curators_group_ensure())
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _sign_in(client, email: str, password: str):
    return client.post("/accounts/login/", {"login": email, "password": password})


# --- the admin ---------------------------------------------------------------------------


def test_admin_login_page_hands_over_to_the_limited_sign_in(client, curator):
    # The admin's own form would authenticate() with no limit: it is not served any more
    answer = client.post(
        "/admin/login/?next=/admin/", {"username": curator.email, "password": PASSWORD}
    )

    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("login_page", ["/admin/login/", "/accounts/login/"])
def test_thirty_wrong_staff_passwords_lock_the_right_one_out(client, curator, login_page):
    fields = {"username": curator.email, "login": curator.email}
    for _ in range(30):
        client.post(login_page, {**fields, "password": "wrong-passphrase"})

    client.post(login_page, {**fields, "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_staff_sign_in_reaches_the_admin(client, curator):
    answer = _sign_in(client, curator.email, PASSWORD)

    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_staff_can_add_an_authenticator_app(client, curator):
    _sign_in(client, curator.email, PASSWORD)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})

    page = client.get("/accounts/2fa/totp/activate/")

    assert page.status_code == 200
    assert "secret" in page.content.decode().lower()


def test_a_learner_cannot_use_the_admin(client, db):
    learner = UserFactory(email="learner-admin@example.com")
    EmailAddress.objects.create(user=learner, email=learner.email, verified=True, primary=True)
    _sign_in(client, learner.email, PASSWORD)

    assert client.get("/admin/login/").status_code == 403


# --- Content-Security-Policy -------------------------------------------------------------

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
_INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+=", re.IGNORECASE)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/tracks/",
        "/tracks/{slug}/",
        "/dashboard/",
        "/account/",
        "/reminders/preferences/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/2fa/",
        "/api/docs/",
        "/admin/",
        "/admin/content/track/",
        "/admin/content/track/{track_id}/change/",
        "/admin/content/resource/add/",
        "/staff/link-health/",
    ],
)
def test_no_page_needs_inline_script(client, curator, path):
    step = StepFactory()
    client.force_login(curator)

    response = client.get(path.format(slug=step.track.slug, track_id=step.track.pk), follow=True)
    html = response.content.decode()

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not _INLINE_SCRIPT.findall(html), _INLINE_SCRIPT.findall(html)
    assert not _INLINE_HANDLER.findall(html), _INLINE_HANDLER.findall(html)


def test_swagger_ui_loads_its_script_from_the_site(client):
    page = client.get("/api/docs/").content.decode()
    (script,) = re.findall(r'<script src="([^"]+\?script=)"', page) or [
        src for src in re.findall(r'<script src="([^"]+)"', page) if "script" in src
    ]

    answer = client.get(script)

    assert answer.status_code == 200
    assert "SwaggerUIBundle" in answer.content.decode()


# --- absolute links in email -------------------------------------------------------------


def test_the_site_domain_follows_site_url_after_migrate(db, settings):
    settings.SITE_URL = "https://learn.example.org"

    call_command("migrate", verbosity=0)

    assert Site.objects.get_current().domain == "learn.example.org"


def test_password_reset_link_uses_the_public_origin_not_the_request_host(db, client, settings):
    settings.SITE_URL = "https://learn.example.org"
    settings.ALLOWED_HOSTS = ["internal-node-7", "learn.example.org"]
    user = UserFactory(email="reset@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    client.post("/accounts/password/reset/", {"email": user.email}, HTTP_HOST="internal-node-7")

    (message,) = mail.outbox
    links = re.findall(r"https?://[^\s\"<>]+", message.body)
    assert links
    assert all(link.startswith("https://learn.example.org/") for link in links), links


def test_sign_in_limits_count_the_client_behind_the_proxy_not_the_proxy(client, curator, settings):
    # Given one proxy in front (nginx), whose address every request arrives from
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for attempt in range(12):
        client.post(
            "/accounts/login/",
            {"login": f"nobody{attempt}@example.com", "password": "wrong-passphrase"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )

    # When a learner from another address signs in right after a burst of failures
    answer = client.post(
        "/accounts/login/",
        {"login": curator.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )

    # Then the per-address limit of the others does not refuse them
    assert answer.status_code == 302


def test_the_proxy_count_of_the_api_also_serves_the_sign_in_limits():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.ALLAUTH_TRUSTED_PROXY_COUNT


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/api/v1/tracks/", lambda body: body["error"]["code"] == "unavailable"),
        ("/_allauth/app/v1/auth/login", lambda body: body["errors"][0]["code"] == "unavailable"),
    ],
)
def test_a_database_outage_answers_503_in_each_endpoints_error_shape(rf, path, shape):
    from django.db import OperationalError

    from apps.core.views import server_error

    try:
        raise OperationalError("the server closed the connection")
    except OperationalError:
        response = server_error(rf.get(path))

    assert response.status_code == 503
    assert response["Retry-After"]
    assert shape(json.loads(response.content))
