"""What a partner app sees around the answers: caching, CORS, the right URL."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PERSONAL = "private, no-store"


# --- caching -------------------------------------------------------------------------------


def test_personal_answers_are_never_stored(alice, track):
    step = track.steps.first()
    alice.put(f"progress/steps/{step.pk}/", {"status": "done"})
    reads = [
        "me/",
        "me/export/",
        "progress/",
        "progress/changes/",
        f"progress/steps/{step.pk}/",
        f"progress/steps/{step.pk}/notes/",
        "progress/suggestions/",
    ]
    for path in reads:
        response = alice.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == PERSONAL, path
    writes = [
        alice.patch("me/", {"display_name": "Ada"}),
        alice.put(f"progress/steps/{step.pk}/", {"status": "todo"}),
        alice.put(f"progress/steps/{step.pk}/notes/", {"body": "mine"}),
        alice.post("progress/sync/", {"operations": []}),
        alice.post(
            f"progress/tracks/{track.slug}/bulk/", {"action": "reset", "idempotency_key": "k1"}
        ),
    ]
    for response in writes:
        assert response.status_code in (200, 201), response.content
        assert response["Cache-Control"] == PERSONAL


def test_errors_are_not_stored_either(alice, anon):
    assert anon.get("me/")["Cache-Control"] == PERSONAL
    assert alice.patch("me/", {"weekly_goal": 0})["Cache-Control"] == PERSONAL
    assert alice.get("nowhere/")["Cache-Control"] == PERSONAL


def test_track_answers_keep_their_etag_and_revalidation(alice, track):
    response = alice.get(f"tracks/{track.slug}/")

    assert response["Cache-Control"] == "private, no-cache"
    assert response["ETag"]


# --- a missing trailing slash ----------------------------------------------------------------


def test_a_missing_trailing_slash_is_told_the_right_url(alice, track):
    response = alice.get(f"tracks/{track.slug}", query={"x": "1"})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert f"/api/v1/tracks/{track.slug}/?x=1" in error["message"]
    # A write is not redirected (a client would resend it as a GET): it is told too.
    message = alice.post("progress/sync", {"operations": []}).json()["error"]["message"]
    assert "/api/v1/progress/sync/" in message


def test_a_path_that_is_wrong_anyway_names_no_url(alice):
    message = alice.get("nowhere").json()["error"]["message"]

    assert message == "No API endpoint at this path."


# --- CORS ----------------------------------------------------------------------------------

APP_ORIGIN = "https://app.partner.example"


def _preflight(path: str, method: str = "POST", origin: str = APP_ORIGIN) -> object:
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, x-session-token",
        },
    )


def test_cors_is_off_by_default(anon, track):
    response = anon.get("tracks/", headers={"Origin": APP_ORIGIN})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in _preflight("/api/v1/progress/sync/")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/progress/sync/", "/_allauth/app/v1/auth/login", "/_allauth/app/v1/auth/signup"],
)
def test_an_allowed_origin_passes_the_preflight_on_the_api_and_on_sign_in(settings, path):
    settings.CORS_ALLOWED_ORIGINS = [APP_ORIGIN]

    response = _preflight(path)

    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-session-token"} <= allowed


def test_an_allowed_origin_reads_the_answer_and_its_headers(settings, alice, track):
    settings.CORS_ALLOWED_ORIGINS = [APP_ORIGIN]

    response = alice.get(f"tracks/{track.slug}/", headers={"Origin": APP_ORIGIN})

    assert response["Access-Control-Allow-Origin"] == APP_ORIGIN
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "retry-after", "ratelimit-remaining"} <= exposed


def test_another_origin_is_not_let_in(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP_ORIGIN]

    response = _preflight("/_allauth/app/v1/auth/login", origin="https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_web_pages_send_no_cors_headers(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP_ORIGIN]

    response = Client().get("/healthz", headers={"Origin": APP_ORIGIN})

    assert "Access-Control-Allow-Origin" not in response
