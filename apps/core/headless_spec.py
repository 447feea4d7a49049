"""The sign-in API's OpenAPI document: allauth headless's, trimmed to what Stepwise serves.

allauth describes every route it can mount, and keeps each path that resolves. Stepwise
answers some of those with a JSON 404 (``headless_not_found``: phone numbers, WebAuthn,
login by code, other sessions, the browser client), so they resolve too. Here a path is
kept only when it resolves to a view that serves it; then the tags, tag groups and
components nothing refers to any more go as well.
"""

import json
from functools import cache
from typing import Any

import yaml
from allauth.headless.spec.internal.schema import get_schema
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_safe

from apps.core.json_guard import headless_not_found

_COMPONENTS = "#/components/"


def _served(path: str) -> bool:
    try:
        return resolve(path).func is not headless_not_found
    except Resolver404:
        return False


def _references(node: Any) -> set[str]:
    """Every ``$ref`` in the node, at any depth."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _drop_unreferenced_components(spec: dict[str, Any]) -> None:
    components: dict[str, dict[str, Any]] = spec.get("components", {})
    reached: set[str] = set()
    pending = _references(spec["paths"])
    while pending:
        ref = pending.pop()
        if ref in reached or not ref.startswith(_COMPONENTS):
            continue
        reached.add(ref)
        kind, _, name = ref.removeprefix(_COMPONENTS).partition("/")
        pending |= _references(components.get(kind, {}).get(name))
    for kind, entries in components.items():
        if kind == "securitySchemes":  # named by ``security``, not by $ref
            continue
        for name in list(entries):
            if f"{_COMPONENTS}{kind}/{name}" not in reached:
                del entries[name]


# Stepwise's accounts have neither a phone number nor a username (allauth's phone sign-in
# is off, and ACCOUNT_USER_MODEL_USERNAME_FIELD is None), and login by code is off.
ABSENT_FIELDS = frozenset({"phone", "username"})
ABSENT_FLOWS = frozenset({"verify_phone", "login_by_code"})


def _without_absent(node: Any) -> Any:
    """The schema without the fields accounts do not have: no such property, no
    alternative that requires one (``Login by phone``), no login method or flow for them."""
    if isinstance(node, list):
        return [_without_absent(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            node[key] = [
                alt
                for alt in node[key]
                if not (isinstance(alt, dict) and ABSENT_FIELDS & set(alt.get("required", [])))
            ]
    node = {key: _without_absent(value) for key, value in node.items()}
    if isinstance(node.get("properties"), dict):
        for name in ABSENT_FIELDS & set(node["properties"]):
            del node["properties"][name]
        if isinstance(node.get("required"), list):
            node["required"] = [name for name in node["required"] if name not in ABSENT_FIELDS]
            if not node["required"]:
                del node["required"]
    values = node.get("enum")
    if isinstance(values, list) and "email" in values:  # login methods
        node["enum"] = [value for value in values if value not in ABSENT_FIELDS]
    if isinstance(values, list) and "verify_email" in values:  # flow ids
        node["enum"] = [value for value in values if value not in ABSENT_FLOWS]
    return node


def headless_spec_trim(spec: dict[str, Any]) -> dict[str, Any]:
    """The document without the paths Stepwise does not serve, nor what only they used,
    nor the fields its accounts do not have."""
    spec["paths"] = {path: item for path, item in spec["paths"].items() if _served(path)}
    spec["components"] = _without_absent(spec.get("components", {}))
    used = {
        tag
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    }
    spec["tags"] = [tag for tag in spec.get("tags", []) if tag["name"] in used]
    groups = [
        {**group, "tags": [tag for tag in group["tags"] if tag in used]}
        for group in spec.get("x-tagGroups", [])
    ]
    spec["x-tagGroups"] = [group for group in groups if group["tags"]]
    _drop_unreferenced_components(spec)
    # Relative to where the document is served, like the API's own schema.
    spec["servers"] = [{"url": "/", "description": "The Stepwise server serving this document."}]
    # No security scheme: each operation lists the X-Session-Token header it takes.
    spec.setdefault("security", [{}])
    return spec


@cache
def headless_spec() -> dict[str, Any]:
    """Built once per process: it depends on the settings and URLs alone."""
    return headless_spec_trim(get_schema())


@require_safe
def openapi_json(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        json.dumps(headless_spec()), content_type="application/vnd.oai.openapi+json"
    )


@require_safe
def openapi_yaml(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        yaml.safe_dump(headless_spec(), sort_keys=False, allow_unicode=True),
        content_type="application/vnd.oai.openapi",
    )
