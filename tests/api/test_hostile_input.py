"""Hostile request bodies never get a 5xx: every JSON endpoint, found in the URL resolver
(/api/v1/ and allauth headless /_allauth/app/v1/), answers them in JSON, anonymous or signed
in (session token or browser session), with the right status where it is clear.

The bodies: larger than DATA_UPLOAD_MAX_MEMORY_SIZE, nested far and just short of Python's
recursion limit, NUL bytes (raw, and escaped in every text field), invalid UTF-8, huge
numbers (10**400, 1e400, an integer of more digits than Python converts, and 10**400 in
every field), and bodies that are not JSON (text/plain, form-encoded, multipart).
"""

import bz2
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from apps.content.models import Track
from tests.api.conftest import HEADLESS, headless_login

pytestmark = pytest.mark.django_db

API = "/api/v1/"
BODY_METHODS = ("post", "put", "patch", "delete")
# Signs in through a browser: allauth answers it with a redirect or an HTML page, not JSON.
FORM_ENDPOINTS = {f"{HEADLESS}/auth/provider/redirect"}
HUGE = 10**400
TOO_MANY_DIGITS = "9" * (sys.get_int_max_str_digits() + 1)
NUL_TEXT = "a\x00b@example.com"
API_ERROR_KEYS = {"code", "message", "fields"}
HEADLESS_ERROR_KEYS = {"code", "message"}


# --- the endpoints, from the URL resolver ---------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str  # with <int:...> and <slug:...> left for the test to fill in
    method: str
    view: Callable[..., Any]

    @property
    def ours(self) -> bool:
        return self.path.startswith(API)

    @property
    def view_class(self) -> type | None:
        return getattr(self.view, "view_class", None)

    @property
    def not_found(self) -> bool:
        # Every endpoint is a class; a function answers where there is none (JSON 404s).
        return self.view_class is None

    @property
    def reads_json(self) -> bool:
        """Parses the body: DRF views on writes, allauth's on all but GET."""
        view_class = self.view_class
        if view_class is None:
            return False
        if self.ours:
            return issubclass(view_class, APIView) and self.method in ("post", "put", "patch")
        return bool(getattr(view_class, "handle_json_input", False))

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _routes(patterns: list[Any], prefix: str = "/") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            route = str(pattern.pattern)
            # A regular expression rather than a route: the API's catch-all 404.
            yield prefix + ("nowhere/" if route.startswith("^") else route)


def json_endpoints() -> list[Endpoint]:
    found = []
    for route in dict.fromkeys(_routes(get_resolver().url_patterns)):
        if not route.startswith((API, f"{HEADLESS}/")):
            continue
        view = resolve(fill(route, step_id=1, slug="x")).func  # the view that answers there
        view_class = getattr(view, "view_class", None)
        methods = [m for m in BODY_METHODS if hasattr(view_class, m)] if view_class else ["post"]
        found.extend(Endpoint(route, method, view) for method in methods)
    return found


def fill(route: str, *, step_id: int | str, slug: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: str(step_id) if m[1] == "int" else slug, route)


# --- what each endpoint reads: hostile values in every field ------------------------------

OPENAPI = SchemaGenerator().get_schema(request=None, public=True)


def _from_openapi(node: dict[str, Any], leaf: Callable[[str], Any]) -> Any:
    if "$ref" in node:
        node = OPENAPI["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    if "properties" in node:
        return {name: _from_openapi(sub, leaf) for name, sub in node["properties"].items()}
    if node.get("type") == "array":
        return [_from_openapi(node["items"], leaf)]
    return leaf(node.get("type", "string"))


def _from_inputs(view_class: type | None, leaf: Callable[[str], Any]) -> dict[str, Any]:
    inputs = getattr(view_class, "input_class", None) or {}
    classes = inputs.values() if isinstance(inputs, dict) else [inputs]
    return {
        name: leaf("integer" if isinstance(field, forms.IntegerField) else "string")
        for form in classes
        for name, field in form.base_fields.items()
    }


def every_field(endpoint: Endpoint, leaf: Callable[[str], Any]) -> bytes:
    """A body giving each input the endpoint documents the value ``leaf`` picks for its type."""
    if endpoint.ours:
        openapi_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", endpoint.path)
        operation = OPENAPI["paths"].get(openapi_path, {}).get(endpoint.method, {})
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {"properties": {}})
        body = _from_openapi(schema, leaf)
    else:
        body = _from_inputs(endpoint.view_class, leaf)
    return json.dumps(body).encode()


def _nul(kind: str) -> Any:
    return NUL_TEXT if kind == "string" else 1


def _huge(kind: str) -> Any:
    return HUGE


# --- the hostile bodies ----------------------------------------------------------------------


def nested(depth: int, opening: str, closing: str, inner: str = "1") -> bytes:
    return f'{{"email": {opening * depth}{inner}{closing * depth}}}'.encode()


def multipart() -> tuple[bytes, str]:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\na@example.com\r\n'
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="x.json"\r\n'
        b"Content-Type: application/json\r\n\r\n{}\r\n--b--\r\n"
    )
    return body, "multipart/form-data; boundary=b"


@dataclass(frozen=True)
class Hostile:
    name: str
    body: Callable[[Endpoint], bytes]
    content_type: str = "application/json"
    # The status where it is clear: on our API once signed in, on allauth's always.
    api_status: int | None = 400
    headless_status: int | None = 400


# Deep enough that what parses may overflow the stack later (in a form, a serializer...).
NEAR_THE_LIMIT = sys.getrecursionlimit() - 85

HOSTILE = [
    Hostile(
        "oversized",
        lambda e: b'{"email": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}',
        api_status=413,
        headless_status=413,
    ),
    Hostile("deeply-nested-arrays", lambda e: nested(50_000, "[", "]")),
    Hostile("deeply-nested-objects", lambda e: nested(50_000, '{"a":', "}")),
    Hostile("nested-arrays-near-the-limit", lambda e: nested(NEAR_THE_LIMIT, "[", "]")),
    Hostile("nested-objects-near-the-limit", lambda e: nested(NEAR_THE_LIMIT, '{"a":', "}")),
    Hostile("unclosed-arrays", lambda e: b"[" * 2000),
    Hostile("malformed", lambda e: b'{"email": '),
    Hostile("not-an-object", lambda e: b'["a@example.com"]'),
    Hostile("raw-nul-byte", lambda e: b'{"email": "a\x00b@example.com"}'),
    Hostile("nul-in-every-text-field", lambda e: every_field(e, _nul), headless_status=None),
    Hostile("invalid-utf8", lambda e: b'{"email": "\xff\xfe@example.com"}'),
    Hostile("utf16", lambda e: '{"email": "a@example.com"}'.encode("utf-16")),
    # bz2 would inflate past the size limit; EBCDIC spells the brackets with other bytes.
    Hostile("compressed", lambda e: bz2.compress(b"{}"), "application/json; charset=bz2_codec"),
    Hostile(
        "nested-in-ebcdic",
        lambda e: nested(NEAR_THE_LIMIT, "[", "]").decode().encode("cp500"),
        "application/json; charset=cp500",
    ),
    Hostile(
        "huge-numbers",
        lambda e: f'{{"email": {HUGE}, "password": 1e400, "n": -{HUGE}}}'.encode(),
        api_status=None,
        headless_status=None,
    ),
    Hostile("integer-of-too-many-digits", lambda e: f'{{"email": {TOO_MANY_DIGITS}}}'.encode()),
    Hostile("nan", lambda e: b'{"email": NaN, "password": Infinity}'),
    Hostile("huge-integer-in-every-field", lambda e: every_field(e, _huge), headless_status=None),
    Hostile("text-plain", lambda e: b"email=a@example.com", "text/plain", api_status=415),
    Hostile(
        "form-encoded",
        lambda e: b"email=a%40example.com&password=x",
        "application/x-www-form-urlencoded",
        api_status=415,
    ),
    Hostile("multipart", lambda e: multipart()[0], multipart()[1], api_status=415),
]


# --- the callers -----------------------------------------------------------------------------


def callers(make_learner: Callable[..., Any]) -> Iterator[tuple[str, Client, dict[str, str]]]:
    """Anonymous, signed in with a session token, signed in with the browser's session;
    a learner of their own each, as one request may sign out or delete the account."""
    yield "anonymous", Client(), {}
    learner = make_learner()
    yield "session token", Client(), {"X-Session-Token": headless_login(learner.user.email)}
    browser = Client()
    browser.force_login(make_learner().user)
    yield "browser session", browser, {}


def problems_with(response: Any, endpoint: Endpoint, expected: int | None) -> list[str]:
    status, content_type = response.status_code, response.get("Content-Type", "")
    found = []
    if status >= 500:
        found.append(f"answered {status}")
    if expected is not None and status != expected:
        found.append(f"answered {status}, not {expected}")
    if status == 204 or endpoint.path in FORM_ENDPOINTS:
        return found
    if content_type != "application/json":
        return [*found, f"answered {status} {content_type!r}: {response.content[:80]!r}"]
    body = response.json()
    if endpoint.ours and status >= 400 and set(body.get("error", {})) != API_ERROR_KEYS:
        found.append(f"not the API's error shape: {body}")
    if not endpoint.ours:
        errors = body.get("errors", [])  # answers about the session (401, 409) have none
        if body.get("status") != status or not all(set(e) >= HEADLESS_ERROR_KEYS for e in errors):
            found.append(f"not allauth's shape: {body}")
    return found


ENDPOINTS = json_endpoints()


def test_every_json_endpoint_is_covered():
    paths = {endpoint.path for endpoint in ENDPOINTS}
    assert {f"{API}me/", f"{API}progress/sync/", f"{HEADLESS}/auth/login"} <= paths
    assert sum(endpoint.ours for endpoint in ENDPOINTS) >= 4
    assert sum(not endpoint.ours for endpoint in ENDPOINTS) >= 15


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_hostile_body_never_answers_5xx(endpoint, hostile, make_learner, track: Track, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "sync": None},
    }
    path = fill(endpoint.path, step_id=track.steps.first().pk, slug=track.slug)
    body = hostile.body(endpoint)
    problems = []
    for who, client, headers in callers(make_learner):
        if endpoint.not_found:
            expected = 404
        elif not endpoint.reads_json:
            expected = None
        elif endpoint.ours:
            expected = hostile.api_status if who != "anonymous" else None
            if hostile.name == "nul-in-every-text-field" and b"\\u0000" not in body:
                expected = None  # no text field to put a NUL in: a well-formed body
        else:
            expected = hostile.headless_status
        # generic(): post() and the like would re-encode the body to the charset named.
        response = client.generic(
            endpoint.method.upper(), path, body, content_type=hostile.content_type, headers=headers
        )
        problems += [f"{who}: {p}" for p in problems_with(response, endpoint, expected)]
    assert not problems, problems


def integer_parameters() -> Iterator[tuple[str, str, str, str]]:
    """(method, path, name, where) of every integer the API takes in a path or query."""
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if param.get("schema", {}).get("type") == "integer":
                    yield method, path, param["name"], param["in"]


@pytest.mark.parametrize("value", [HUGE, -HUGE, TOO_MANY_DIGITS], ids=["huge", "-huge", "digits"])
def test_huge_integers_in_paths_and_query_parameters_are_refused(value, alice, track):
    assert list(integer_parameters())
    for method, openapi_path, name, where in integer_parameters():
        values = {"step_id": track.steps.first().pk, "slug": track.slug}
        query = {}
        if where == "path":
            values[name] = str(value).lstrip("-")
        else:
            query[name] = value
        path = openapi_path.format(**values)
        data = None if method == "get" else {}
        response = alice.request(method, path, data, query=query)
        assert response.status_code in (400, 404), (method, path, name, response.content)
        assert "error" in response.json()


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


def test_bad_json_to_allauth_answers_in_its_error_shape():
    response = Client().post(f"{HEADLESS}/auth/login", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "errors": [
            {
                "message": "JSON parse error - Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)",
                "code": "invalid_json",
            }
        ],
    }


def test_json_nested_within_the_limit_still_reaches_the_endpoint(alice, track):
    # A field nested as deep as allowed is read, and refused for what it is, not its depth.
    # The object is one level, the arrays in it the others.
    deepest = nested(settings.JSON_BODY_MAX_DEPTH - 1, "[", "]").replace(b"email", b"timezone")
    read = alice.patch("me/", raw=deepest)
    assert read.status_code == 400
    assert read.json()["error"]["fields"] == {"timezone": ["Expected a string but got list."]}

    refused = alice.patch("me/", raw=nested(settings.JSON_BODY_MAX_DEPTH, "[", "]"))
    assert refused.json()["error"]["message"] == (
        f"JSON parse error - nested deeper than {settings.JSON_BODY_MAX_DEPTH} levels."
    )


def test_an_unknown_path_under_allauth_answers_a_json_404():
    response = Client().get(f"{HEADLESS}/no/such/route")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"
