"""A mobile app signs up, verifies its email by code, logs in and out and resets its
password through allauth headless (/_allauth/app/v1/...), then uses the session token."""

import json
import re

import pytest
from django.core import mail
from django.test import Client

from tests.api.conftest import HEADLESS, Api

pytestmark = pytest.mark.django_db

EMAIL, PASSWORD, NEW_PASSWORD = "mobile@example.com", "first-passphrase-42", "second-passphrase-43"


def call(method: str, path: str, data: dict | None = None, token: str | None = None):
    headers = {"X-Session-Token": token} if token else {}
    body = json.dumps(data) if data is not None else None
    client = Client()
    if body is None:
        return getattr(client, method)(f"{HEADLESS}{path}", headers=headers)
    return getattr(client, method)(
        f"{HEADLESS}{path}", body, content_type="application/json", headers=headers
    )


def last_mail_matching(pattern: str) -> str:
    match = re.search(pattern, mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_sign_up_verify_by_code_use_the_api_log_out_and_in():
    # Sign up: the account waits for its email to be verified; the token tracks the flow.
    signup = call("post", "/auth/signup", {"email": EMAIL, "password": PASSWORD})
    assert signup.status_code == 401
    assert {"id": "verify_email", "is_pending": True} in signup.json()["data"]["flows"]
    pending_token = signup.json()["meta"]["session_token"]
    assert Api(pending_token).get("me/").status_code == 401

    # The code arrives by email; the app sends it back.
    code = last_mail_matching(r"\n\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*\n")
    verified = call("post", "/auth/email/verify", {"key": code}, token=pending_token)
    assert verified.status_code == 200, verified.content
    assert verified.json()["meta"]["is_authenticated"] is True
    token = verified.json()["meta"].get("session_token", pending_token)

    me = Api(token).get("me/")
    assert me.status_code == 200
    assert me.json()["email"] == EMAIL

    # Log out: the token stops working at once.
    assert call("delete", "/auth/session", token=token).status_code == 401
    assert Api(token).get("me/").json()["error"]["code"] == "authentication_failed"

    # Log in again: a new token.
    login = call("post", "/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200
    assert Api(login.json()["meta"]["session_token"]).get("me/").status_code == 200


def test_wrong_password_and_unverified_email_get_no_token():
    call("post", "/auth/signup", {"email": EMAIL, "password": PASSWORD})

    unverified = call("post", "/auth/login", {"email": EMAIL, "password": PASSWORD})
    wrong = call("post", "/auth/login", {"email": EMAIL, "password": "nope-nope-nope"})

    for refused in (unverified, wrong):
        assert refused.status_code in (400, 401)
        assert "session_token" not in refused.json().get("meta", {})


def test_password_reset_then_log_in_with_the_new_password(make_learner):
    make_learner(EMAIL)

    asked = call("post", "/auth/password/request", {"email": EMAIL})
    assert asked.status_code == 200
    key = last_mail_matching(r"/accounts/password/reset/key/([^/\s]+)/")
    reset = call("post", "/auth/password/reset", {"key": key, "password": NEW_PASSWORD})
    assert reset.status_code in (200, 401), reset.content  # 401: log in next

    assert call("post", "/auth/login", {"email": EMAIL, "password": PASSWORD}).status_code == 400
    login = call("post", "/auth/login", {"email": EMAIL, "password": NEW_PASSWORD})
    assert login.status_code == 200
    assert Api(login.json()["meta"]["session_token"]).get("me/").status_code == 200


def test_no_account_enumeration_through_signup_or_password_reset(make_learner):
    make_learner(EMAIL)

    known = call("post", "/auth/password/request", {"email": EMAIL})
    unknown = call("post", "/auth/password/request", {"email": "ghost@example.com"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())

    taken = call("post", "/auth/signup", {"email": EMAIL, "password": PASSWORD})
    fresh = call("post", "/auth/signup", {"email": "fresh@example.com", "password": PASSWORD})
    assert taken.status_code == fresh.status_code == 401
    assert taken.json()["data"]["flows"] == fresh.json()["data"]["flows"]


def test_repeated_failed_logins_are_rate_limited(make_learner):
    make_learner(EMAIL)
    codes = [
        call("post", "/auth/login", {"email": EMAIL, "password": f"wrong-{n}"}).json()["errors"][0][
            "code"
        ]
        for n in range(8)
    ]
    assert codes[0] == "email_password_mismatch"
    assert codes[-1] == "too_many_login_attempts"
