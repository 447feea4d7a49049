"""Hostile input never gets a 5xx, and always a JSON answer."""

import pytest
from django.test import Client

from tests.api.conftest import HEADLESS

pytestmark = pytest.mark.django_db


def test_the_phone_routes_allauth_mounts_answer_a_json_404(alice):
    # Stepwise has no phone numbers: the routes allauth adds anyway do not exist here.
    for method, route in [
        ("get", "/account/phone"),
        ("post", "/account/phone"),
        ("post", "/auth/phone/verify"),
        ("post", "/auth/phone/verify/resend"),
    ]:
        for headers in ({}, {"X-Session-Token": alice.token}):
            response = getattr(Client(), method)(
                f"{HEADLESS}{route}", {}, content_type="application/json", headers=headers
            )
            assert response.status_code == 404, (method, route, response.content)
            assert response.json() == {
                "status": 404,
                "errors": [{"message": "Stepwise has no such endpoint.", "code": "not_found"}],
            }
