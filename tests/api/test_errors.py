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
