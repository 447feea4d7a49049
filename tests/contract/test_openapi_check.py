"""The checker of the contract test refuses what a strict client would refuse."""

from pathlib import Path

import httpx
import pytest
import yaml
from django.conf import settings

from tests.contract.openapi_check import SchemaCheck

SPEC = yaml.safe_load((Path(settings.BASE_DIR) / "docs" / "openapi.yaml").read_text())
ME = {
    "email": "a@example.com",
    "display_name": "",
    "timezone": "UTC",
    "date_joined": "2026-01-01T10:00:00Z",
    "reminder_frequency": "off",
    "reminder_weekday": 0,
    "reminder_hour": 18,
    "weekly_goal": 3,
}


def answer(status: int, body: object, path: str = "/api/v1/me/") -> httpx.Response:
    return httpx.Response(
        status, json=body, request=httpx.Request("GET", f"http://testserver{path}")
    )


def test_a_documented_answer_passes():
    check = SchemaCheck(SPEC)
    check(answer(200, ME))
    assert check.checked == [("GET", "/api/v1/me/", 200)]


@pytest.mark.parametrize(
    ("response", "complaint"),
    [
        (answer(200, {**ME, "is_staff": False}), "Additional properties"),
        (answer(200, {**ME, "weekly_goal": "3"}), "is not of type 'integer'"),
        (answer(200, {**ME, "date_joined": "yesterday"}), "is not a 'date-time'"),
        (answer(418, ME), "is not a documented status"),
        (answer(200, ME, path="/api/v1/nowhere/"), "is not in the schema"),
    ],
)
def test_what_a_strict_client_would_refuse_fails(response, complaint):
    with pytest.raises(AssertionError, match=complaint):
        SchemaCheck(SPEC)(response)
