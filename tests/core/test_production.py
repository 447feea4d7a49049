"""Stepwise under production settings, as an operator deploys it: gunicorn, PostgreSQL, Redis.

These run the real server (tests/production.py) on the test database and real services;
the Redis outage uses a redis-server of the test's own, never the shared one.
"""

import gzip
import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.conftest import redis_url
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, UserFactory
from tests.production import ROOT, own_redis, production_env, production_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PASSWORD = "a-good-passphrase"


def _verified_learner(email: str = "operator-test@example.com"):
    user = UserFactory(email=email)
    # Production keeps Django's own hashers (tests use a fast one production would refuse)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "operator-test-salt")
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _track_with_a_step():
    step = StepFactory(key="first-step")
    StepResourceFactory(step=step, resource=ResourceFactory())
    return step


def _web_login(client: httpx.Client, email: str) -> None:
    page = client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    answer = client.post(
        "/accounts/login/",
        data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}/accounts/login/"},
    )
    assert page.status_code == 200
    assert answer.status_code == 302, answer.text[-1000:]


# --- starting up -------------------------------------------------------------------------


def _start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import a server entry point the way gunicorn, uvicorn or celery would."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    environment.pop("SECRET_KEY", None)
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own modules, fixed arguments
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi", "config.celery_app"])
def test_server_entry_points_default_to_production_settings(module):
    # Given no DJANGO_SETTINGS_MODULE and no secret, as a bare `gunicorn config.wsgi` has
    result = _start(module)
    if module == "config.celery_app":  # the app loads settings lazily: ask for them
        result = subprocess.run(
            [sys.executable, "-c", "from config.celery_app import app; app.conf.broker_url"],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))},
            capture_output=True,
            text=True,
            timeout=60,
        )
    # Then production refuses to start without its secret, instead of running in debug
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", ""),
        ("SECRET_KEY", "change-me-in-production"),
        ("ALLOWED_HOSTS", ""),
        ("SITE_URL", ""),
        ("SITE_URL", "stepwise.example.org"),
        ("SITE_URL", "http://127.0.0.1:8000"),
        ("REDIS_URL", ""),
    ],
)
def test_production_refuses_to_start_naming_the_unsafe_variable(variable, value):
    env = production_env(REDIS_URL=redis_url(0))
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"{variable} " in result.stderr.splitlines()[-1]


def test_manage_py_keeps_development_settings():
    result = _start("manage")
    assert result.returncode == 0, result.stderr
    out = subprocess.run(
        [sys.executable, "manage.py", "diffsettings", "--output", "unified"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET"))},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "+ DEBUG = True" in out.stdout


def test_check_deploy_is_clean_at_warning_level():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(REDIS_URL=redis_url(0), SECURE_SSL_REDIRECT="true"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


# --- serving -----------------------------------------------------------------------------


def _forget_rate_limits() -> None:
    """The server's Redis database starts empty: no test inherits another's sign-in limits."""
    import redis

    redis.Redis.from_url(redis_url(12)).flushdb()


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    _forget_rate_limits()
    with production_server(redis_url=redis_url(12)) as running:
        yield running


def _stylesheet_url(html: str) -> str:
    match = re.search(r'href="(/static/css/stepwise\.[0-9a-f]{12}\.css)"', html)
    assert match, "the page links no hashed stylesheet"
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_static_files_are_served_hashed_compressed_and_cached_for_a_year(server):
    with server.client() as client:
        page = client.get("/tracks/")
        stylesheet = client.get(_stylesheet_url(page.text), headers={"Accept-Encoding": "gzip"})
        docs = client.get("/api/docs/")
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text)
        admin_css = client.get("/static/admin/css/base.css")
        # htmx is on the pages that use it; sign-up has the time zone script.
        script = re.search(r'src="(/static/js/[^"]+)"', client.get("/accounts/signup/").text)
        icon = re.search(r'href="(/static/favicon[^"]+)"', page.text)

        assert page.status_code == 200
        assert stylesheet.status_code == 200
        assert stylesheet.headers["Content-Encoding"] == "gzip"
        assert "max-age=315360000" in stylesheet.headers["Cache-Control"]
        assert "immutable" in stylesheet.headers["Cache-Control"]
        assert admin_css.status_code == 200
        assert script and client.get(script.group(1)).status_code == 200
        assert icon and client.get(icon.group(1)).status_code == 200
        assert docs.status_code == 200
        assert any("swagger-ui" in asset for asset in assets)
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


@pytest.mark.django_db(transaction=True)
def test_security_headers_under_production(server):
    with server.client() as client:
        # As the TLS-terminating proxy forwards it
        response = client.get("/tracks/", headers={"X-Forwarded-Proto": "https"})

    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in policy.get("default-src", "")
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db(transaction=True)
def test_large_json_and_html_are_compressed(server):
    for index in range(30):
        StepFactory(title=f"A step with a long enough title to compress {index}")
    with server.client() as client:
        api = client.get("/api/v1/tracks/", headers={"Accept-Encoding": "gzip"})
        page = client.get("/tracks/", headers={"Accept-Encoding": "gzip"})
        raw = client.get("/api/v1/tracks/", headers={"Accept-Encoding": "identity"})

    assert api.status_code == 200
    assert api.headers["Content-Encoding"] == "gzip"
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in raw.headers
    assert api.json() == raw.json()  # httpx inflates; the payload is the same
    assert len(gzip.compress(raw.content)) < len(raw.content) / 2


@pytest.mark.django_db(transaction=True)
def test_every_response_carries_a_request_id_that_the_json_logs_carry_too(server):
    with server.client() as client:
        missing = client.get("/tracks/no-such-track/")
        given = client.get("/healthz", headers={"X-Request-ID": "a" * 32})

    request_id = missing.headers["X-Request-ID"]
    assert missing.status_code == 404
    assert given.headers["X-Request-ID"] == "a" * 32
    time.sleep(0.5)
    lines = [json.loads(line) for line in server.log.splitlines() if line.startswith("{")]
    assert any(
        line.get("request_id") == request_id and "no-such-track" in line["message"]
        for line in lines
    ), server.log[-2000:]


@pytest.mark.django_db(transaction=True)
def test_health_and_readiness(server):
    with server.client() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "cache", "broker"}
    assert all(check["ok"] and check["latency_ms"] >= 0 for check in checks.values())


@pytest.mark.django_db(transaction=True)
def test_login_limit_is_shared_by_every_worker(server):
    _forget_rate_limits()
    # Given a learner and two gunicorn workers sharing one Redis
    _verified_learner("shared-limit@example.com")
    codes = []
    for attempt in range(12):
        # A new connection each time, so the requests spread over the workers
        answer = httpx.post(
            f"{server.url}/_allauth/app/v1/auth/login",
            json={
                "email": "shared-limit@example.com",
                "password": PASSWORD if attempt == 11 else "wrong-passphrase",
            },
        )
        codes.append(answer.status_code >= 400 and answer.json()["errors"][0]["code"])
    # Then allauth's "5 failures per account" holds across processes: from the 6th attempt
    # on, even the right password is refused
    assert codes[:5] == ["email_password_mismatch"] * 5, codes
    assert set(codes[5:]) == {"too_many_login_attempts"}, codes


@pytest.mark.django_db(transaction=True)
def test_sync_throttle_is_shared_by_every_worker(server):
    _forget_rate_limits()
    _verified_learner("shared-sync@example.com")
    token = httpx.post(
        f"{server.url}/_allauth/app/v1/auth/login",
        json={"email": "shared-sync@example.com", "password": PASSWORD},
    ).json()["meta"]["session_token"]

    statuses = [
        httpx.post(
            f"{server.url}/api/v1/progress/sync/",
            json={"operations": []},
            headers={"X-Session-Token": token},
        ).status_code
        for _ in range(36)
    ]

    # 30 a minute (API_THROTTLE_SYNC), however the calls spread over the workers
    assert statuses[:30] == [200] * 30, statuses
    assert set(statuses[30:]) == {429}, statuses


# --- Redis stopped while serving ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_redis_outage_answers_no_5xx_and_readiness_recovers():
    learner = _verified_learner("outage@example.com")
    step = _track_with_a_step()
    resource = step.resources.first()
    with (
        own_redis() as redis,
        production_server(redis_url=redis.url) as server,
        server.client() as client,
    ):
        _web_login(client, learner.email)
        signed_in = httpx.post(
            f"{server.url}/_allauth/app/v1/auth/login",
            json={"email": learner.email, "password": PASSWORD},
        )
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["meta"]["session_token"]
        assert client.get("/readyz").status_code == 200

        # When Redis stops
        redis.stop()
        csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
        api = {"X-Session-Token": token}
        answers = {
            "catalog": client.get("/tracks/"),
            "track": client.get(f"/tracks/{step.track.slug}/"),
            "dashboard": client.get("/dashboard/"),
            "api tracks (anonymous)": httpx.get(f"{server.url}/api/v1/tracks/"),
            "api progress": client.get("/api/v1/progress/", headers=api),
            "api tick": client.put(
                f"/api/v1/progress/steps/{step.pk}/", json={"status": "done"}, headers=api
            ),
            "web tick": client.post(
                f"/tracks/{step.track.slug}/steps/{step.key}/status/",
                data={"status": "in_progress"},
                headers=csrf,
            ),
            "link report": client.post(f"/links/report/{resource.pk}/", headers=csrf),
            "headless login": httpx.post(
                f"{server.url}/_allauth/app/v1/auth/login",
                json={"email": learner.email, "password": PASSWORD},
            ),
            "password reset": httpx.post(
                f"{server.url}/_allauth/app/v1/auth/password/request",
                json={"email": learner.email},
            ),
            "readyz": client.get("/readyz"),
        }

        # Then nothing answers 5xx but readiness, which says the cache is down
        failures = {
            name: (r.status_code, r.text[:200])
            for name, r in answers.items()
            if r.status_code >= 500 and name != "readyz"
        }
        assert not failures, failures
        assert answers["readyz"].status_code == 503
        assert answers["readyz"].json()["checks"]["cache"]["ok"] is False
        assert answers["readyz"].json()["checks"]["database"]["ok"] is True
        assert "Redis cache unavailable" in server.log

        # And once Redis is back, readiness recovers on its own
        redis.start()
        deadline = time.monotonic() + 15
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.get("/readyz").status_code == 200
