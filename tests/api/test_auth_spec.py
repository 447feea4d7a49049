"""The sign-in API's contract: allauth headless's OpenAPI document, served, valid, linked
from /api/docs/, and describing only what Stepwise serves (no phone numbers, no usernames,
no WebAuthn, no login by code)."""

import json
import re

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate as validate_spec

pytestmark = pytest.mark.django_db

SPEC = "/_allauth/openapi.json"


@pytest.fixture
def spec() -> dict:
    response = Client().get(SPEC)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    return json.loads(response.content)


def test_the_auth_spec_is_served_and_valid(spec):
    validate_spec(spec)
    assert spec["servers"] == [
        {"url": "/", "description": "The Stepwise server serving this document."}
    ]

    assert {"/_allauth/app/v1/auth/login", "/_allauth/app/v1/auth/signup"} <= set(spec["paths"])
    assert "/_allauth/app/v1/auth/email/verify" in spec["paths"]
    as_yaml = yaml.safe_load(Client().get("/_allauth/openapi.yaml").content)
    assert as_yaml == spec


def test_the_auth_spec_offers_no_phone_username_or_login_by_code(spec):
    paths = " ".join(spec["paths"])
    for absent in ("phone", "webauthn", "code/request", "code/confirm", "/browser/", "sessions"):
        assert absent not in paths, absent

    schemas = spec["components"]["schemas"]
    assert "Phone" not in schemas
    login = json.dumps(schemas["Login"])
    assert "email" in login
    assert "phone" not in login
    assert "username" not in login
    assert "verify_phone" not in json.dumps(schemas["Flow"])


def test_every_documented_operation_is_served(spec):
    # Nothing in the document answers Stepwise's "no such endpoint" 404.
    client = Client()
    for path, item in spec["paths"].items():
        for method in item:
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            response = getattr(client, method)(path, {}, content_type="application/json")
            body = response.content.decode()
            assert "Stepwise has no such endpoint" not in body, (method, path)
            assert response.status_code < 500, (method, path, response.status_code)


def test_what_the_spec_leaves_out_is_not_served(spec):
    client = Client()
    for path in (
        "/_allauth/app/v1/account/phone",
        "/_allauth/app/v1/auth/code/confirm",
        "/_allauth/app/v1/tokens/refresh",
    ):
        response = client.post(path, {}, content_type="application/json")
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "not_found"


def test_api_docs_link_to_the_auth_reference():
    schema = yaml.safe_load(
        Client().get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi"}).content
    )
    links = re.findall(r"\]\(([^)]+)\)", schema["info"]["description"])
    assert SPEC in links
    assert "/api/docs/auth/" in links

    page = Client().get("/api/docs/auth/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    script_url = re.search(r'<script src="([^"]+script[^"]*)"', page.content.decode()).group(1)
    script = Client().get(script_url.replace("&amp;", "&")).content.decode()
    assert f'url: "{SPEC}"' in script
