"""Bad input of every kind gets the one error shape with the right status; never a 5xx."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}


def error_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == ERROR_KEYS
    assert error["message"]
    return error


def test_bad_json_is_400_parse_error(alice, track):
    step = track.steps.first()
    error = error_of(alice.put(f"progress/steps/{step.pk}/", raw='{"status": '), 400)
    assert error["code"] == "parse_error"
    assert "JSON parse error" in error["message"]


def test_a_body_that_is_not_utf8_is_400(alice):
    error = error_of(alice.post("progress/sync/", raw=b'{"operations": ["\xff\xfe"]}'), 400)
    assert error["code"] == "parse_error"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_415(alice, content_type):
    response = alice.post("progress/sync/", raw="operations=1", content_type=content_type)
    error = error_of(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert "Send application/json" in error["message"]


def test_a_body_larger_than_the_limit_is_413(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"operations": [' + ",".join(['{"op_id": "x"}'] * 1000) + "]}"

    error = error_of(alice.post("progress/sync/", raw=body), 413)

    assert error["code"] == "request_too_large"
    assert "10000 bytes" in error["message"]


def test_nul_bytes_in_text_fields_are_400(alice):
    error = error_of(alice.patch("me/", {"display_name": "Ada\x00"}), 400)
    assert "display_name" in error["fields"]
    assert "Null characters are not allowed" in error["message"]


def test_unknown_api_path_is_a_json_404(alice):
    for path in ("nowhere/", "progress/steps/abc/", "progress/steps/-1/", "tracks/a/b/"):
        assert error_of(alice.get(path), 404)["code"] == "not_found"


def test_wrong_method_is_405(alice):
    error = error_of(alice.delete("tracks/"), 405)
    assert error["code"] == "method_not_allowed"
    assert 'Method "DELETE" not allowed' in error["message"]


def test_asking_for_html_is_406(alice):
    error = error_of(alice.get("tracks/", headers={"Accept": "text/html"}), 406)
    assert error["code"] == "not_acceptable"


def test_no_token_is_401_with_a_challenge(anon):
    response = anon.get("me/")
    assert error_of(response, 401)["code"] == "not_authenticated"
    assert "X-Session-Token" in response["WWW-Authenticate"]


@pytest.mark.parametrize("token", ["expired0000000000000000000000000", "bad token!", "x"])
def test_a_token_that_is_not_valid_is_401_even_on_public_endpoints(db, token, track):
    from tests.api.conftest import Api

    for path in ("me/", "tracks/"):
        error = error_of(Api(token=token).get(path), 401)
        assert error["code"] == "authentication_failed"


def test_browser_session_needs_csrf_for_writes(alice, track):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    step = track.steps.first()

    refused = browser.put(
        f"/api/v1/progress/steps/{step.pk}/", {"status": "done"}, content_type="application/json"
    )
    assert error_of(refused, 403)["code"] == "permission_denied"
    assert "CSRF" in refused.json()["error"]["message"]

    assert browser.get("/api/v1/tracks/").status_code == 200  # reads need no token
    token = "k" * 32  # any well-formed secret, as long as cookie and header agree
    browser.cookies["csrftoken"] = token
    accepted = browser.put(
        f"/api/v1/progress/steps/{step.pk}/",
        {"status": "done"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 200


def test_a_nul_byte_is_reported_once_per_field(alice):
    error = error_of(alice.patch("me/", {"display_name": "Ada\x00", "timezone": "UTC\x00"}), 400)

    assert error["fields"]["display_name"] == ["Null characters are not allowed."]
    assert error["message"].count("Null characters are not allowed.") == 2  # two fields


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("me/", {"weekly_goal": "5"}, "weekly_goal"),
        ("me/", {"reminder_hour": "7"}, "reminder_hour"),
        ("me/", {"reminder_weekday": "2"}, "reminder_weekday"),
    ],
)
def test_a_number_written_as_a_string_is_refused_in_a_body(alice, path, body, field):
    error = error_of(alice.patch(path, body), 400)

    assert error["fields"] == {field: ["A whole number is required."]}


def test_a_sync_step_written_as_a_string_is_refused(alice, track):
    step = track.steps.first()
    operation = {
        "op_id": "6f1d8c1e-3b57-4c1a-9a4e-8f0e0f0c7a11",
        "step": str(step.pk),
        "status": "done",
        "occurred_at": "2025-01-31T18:30:00Z",
    }

    error = error_of(alice.post("progress/sync/", {"operations": [operation]}), 400)

    assert error["fields"] == {"operations.0.step": ["A whole number is required."]}
    assert alice.get(f"progress/steps/{step.pk}/").json()["status"] == "todo"


def test_query_parameters_still_take_digits(alice, track):
    assert alice.get("progress/changes/", query={"since": "0"}).status_code == 200
    assert alice.get("tracks/", query={"page_size": "2"}).status_code == 200
    assert error_of(alice.get("tracks/", query={"page_size": "2.0"}), 400)["fields"] == {
        "page_size": ["A whole number is required."]
    }


@pytest.mark.parametrize("zone", ["0", "+01:00", "Europe/", "/Paris", "Europe Paris"])
def test_a_time_zone_not_shaped_like_a_name_is_refused_as_documented(alice, zone):
    error = error_of(alice.patch("me/", {"timezone": zone}), 400)

    assert error["fields"] == {"timezone": ["Use an IANA time zone name such as Europe/Paris."]}
