import re

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.progress.models import Status, StepProgress
from apps.progress.services import step_status_set
from tests.factories import StepFactory

pytestmark = pytest.mark.django_db


def test_profile_saves_display_name_and_time_zone(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("accounts:profile"),
        {"display_name": "Grace", "timezone": "Asia/Kolkata"},
        follow=True,
    )
    assert "Your profile was saved." in response.content.decode()
    learner.refresh_from_db()
    assert (learner.display_name, learner.timezone) == ("Grace", "Asia/Kolkata")


def test_profile_refuses_unknown_time_zone(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("accounts:profile"), {"display_name": "Grace", "timezone": "Mars/Base"}
    )
    assert "“Mars/Base” is not a time zone we know." in response.content.decode()
    learner.refresh_from_db()
    assert learner.timezone == "UTC"


def test_account_page_links_settings_export_and_delete(client, learner):
    client.force_login(learner)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("learning:export") in html
    assert reverse("accounts:delete") in html
    assert reverse("account_change_password") in html


def test_delete_page_offers_the_download_first(client, learner):
    client.force_login(learner)
    html = client.get(reverse("accounts:delete")).content.decode()
    assert reverse("learning:export") in html


def test_delete_needs_the_password_and_then_removes_everything(client, learner):
    step_status_set(user=learner, step=StepFactory(), status=Status.DONE)
    client.force_login(learner)
    url = reverse("accounts:delete")

    wrong = client.post(url, {"password": "nope"})
    assert "That is not your password" in wrong.content.decode()
    assert User.objects.filter(pk=learner.pk).exists()

    right = client.post(url, {"password": "a-good-passphrase"}, follow=True)
    assert "Your account and all your progress were deleted." in right.content.decode()
    assert not User.objects.filter(pk=learner.pk).exists()
    assert not StepProgress.objects.exists()


def test_account_pages_need_login(client):
    for name in ("accounts:profile", "accounts:delete"):
        assert client.get(reverse(name)).status_code == 302


def test_allauth_pages_use_the_sites_layout(client):
    for name in ("account_login", "account_signup", "account_reset_password"):
        html = client.get(reverse(name)).content.decode()
        assert 'class="site-header"' in html, name
        assert "css/stepwise.css" in html


def test_signup_verifies_email_by_code_then_logs_in(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
        follow=True,
    )
    assert response.status_code == 200
    user = User.objects.get(email="new@example.com")
    assert not user.emailaddress_set.get().verified
    message = mail.outbox[-1]
    assert message.subject.startswith("[Stepwise]")
    assert "Hello from Stepwise" in message.body
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M).group(1)

    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)

    assert user.emailaddress_set.get().verified
    assert response.wsgi_request.user.is_authenticated


def test_social_buttons_only_when_a_provider_is_configured(client):
    assert "GitHub" not in client.get(reverse("account_login")).content.decode()

    app = SocialApp.objects.create(provider="github", name="GitHub", client_id="id", secret="s")
    app.sites.add(Site.objects.get_current())

    assert "GitHub" in client.get(reverse("account_login")).content.decode()


@pytest.mark.parametrize("provider", ["github", "google"])
def test_a_sign_in_provider_nobody_set_up_is_not_found_not_a_server_error(provider):
    client = Client(raise_request_exception=False)

    login = client.get(reverse(f"{provider}_login"))
    callback = client.get(reverse(f"{provider}_callback"), {"code": "x", "state": "y"})

    assert (login.status_code, callback.status_code) == (404, 404)


def test_the_sign_in_api_answers_a_provider_nobody_set_up_with_what_is_wrong(client):
    response = client.post(
        "/_allauth/app/v1/auth/provider/token",
        {
            "provider": "github",
            "process": "login",
            "token": {"client_id": "x", "access_token": "y"},
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["param"] == "token"


def test_a_sign_in_provider_set_up_in_the_admin_offers_its_sign_in():
    app = SocialApp.objects.create(provider="github", name="GitHub", client_id="id", secret="s")
    app.sites.add(Site.objects.get_current())

    response = Client().get(reverse("github_login"))

    # A GET asks to confirm (allauth's protection against login CSRF); nothing leaves here.
    assert response.status_code == 200
    assert "GitHub" in response.content.decode()


def test_repeated_failed_logins_are_rate_limited(client, learner):
    url = reverse("account_login")
    for _ in range(5):
        response = client.post(url, {"login": learner.email, "password": "wrong"})
        assert "Too many failed login attempts" not in response.content.decode()

    response = client.post(url, {"login": learner.email, "password": "wrong"})

    assert "Too many failed login attempts" in response.content.decode()
