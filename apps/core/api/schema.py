"""drf-spectacular post-processing hooks (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""

import re
from typing import Any


def collapse_blank_string_alternatives(result: Any, **kwargs: Any) -> Any:
    """Schema post-processing: drf-spectacular writes a blank-allowed string with a pattern
    as ``oneOf: [{pattern...}, {maxLength: 0}]``; "" matches both, so nothing would accept
    it. Our patterns already admit "", so the first alternative says it all."""

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            alternatives = node.get("oneOf")
            if (
                isinstance(alternatives, list)
                and len(alternatives) == 2
                and alternatives[1] == {"type": "string", "maxLength": 0}
                and re.fullmatch(alternatives[0].get("pattern", "x"), "") is not None
            ):
                node = {**alternatives[0], **{k: v for k, v in node.items() if k != "oneOf"}}
            return {key: visit(value) for key, value in node.items()}
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return visit(result)


NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}
_NULL_ENUM_REF = "#/components/schemas/NullEnum"


def nullable_references_as_alternatives(result: Any, **kwargs: Any) -> Any:
    """Schema post-processing: a nullable reference is written ``oneOf: [<ref>, <null>]``.

    drf-spectacular writes it as ``nullable: true`` beside ``allOf``/``oneOf`` with no
    ``type``; OAS 3.0.3 says ``nullable`` has no effect without a ``type`` beside it, so
    strict validators refuse the ``null`` the API sends (an anonymous ``progress``). The
    null alternative has a type, and ``enum: [null]`` lets through nothing else."""

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: visit(value) for key, value in node.items()}
        combined = node.get("allOf") or node.get("oneOf")
        if node.get("nullable") is True and "type" not in node and isinstance(combined, list):
            alternatives = [alt for alt in combined if alt != {"$ref": _NULL_ENUM_REF}]
            rest = {k: v for k, v in node.items() if k not in ("nullable", "allOf", "oneOf")}
            node = {"oneOf": [*alternatives, dict(NULL_ONLY)], **rest}
        return node

    result = visit(result)
    schemas = result.get("components", {}).get("schemas", {})
    if "NullEnum" in schemas and _NULL_ENUM_REF not in str(result):
        del schemas["NullEnum"]
    return result


# Response headers, defined once in components.headers and referred to by each response.
HEADERS: dict[str, dict[str, Any]] = {
    "CacheControlPersonal": {
        "required": True,
        "description": "The answer is the learner's own: never stored by any cache.",
        "schema": {"type": "string", "enum": ["private, no-store"]},
    },
    "CacheControlRevalidate": {
        "required": True,
        "description": "Kept only by the client, and checked again (If-None-Match) each time.",
        "schema": {"type": "string", "enum": ["private, no-cache"]},
    },
    "ETag": {
        "required": True,
        "description": "A strong tag of the answer: send it as If-None-Match for a 304.",
        "schema": {"type": "string", "example": '"1c5a0f3bd6e5a2b4"'},
    },
    "RetryAfter": {
        "required": True,
        "description": "Seconds to wait before the next request.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitLimit": {
        "description": "Requests allowed in the window of the tightest rate that applies "
        "(IETF draft-ietf-httpapi-ratelimit-headers). Absent when no rate applies.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitRemaining": {
        "description": "Requests left in that window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitReset": {
        "description": "Seconds until the window lets one more request through.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimitPolicy": {
        "description": "Every rate applied, as limit;w=window-seconds, comma-separated.",
        "schema": {"type": "string", "example": "1200;w=60"},
    },
}
_RATE_LIMIT = {
    "RateLimit-Limit": "RateLimitLimit",
    "RateLimit-Remaining": "RateLimitRemaining",
    "RateLimit-Reset": "RateLimitReset",
    "RateLimit-Policy": "RateLimitPolicy",
}
_HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _header_refs(names: dict[str, str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{ref}"} for name, ref in names.items()}


def document_operations(result: Any, **kwargs: Any) -> Any:
    """Schema post-processing: what every operation of the API has, said once here.

    - a summary (the first sentence of its description when the view gives none);
    - a description of each success (its operation's summary when the view gives none);
    - the response headers ``ApiResponseHeadersMiddleware`` and the throttles send:
      Cache-Control on every answer (``private, no-cache`` with an ETag where the
      operation answers 304, else ``private, no-store``), the RateLimit fields on answers
      a rate counted, and Retry-After on 429.
    """
    for item in result.get("paths", {}).values():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if not operation.get("summary"):
                first = operation.get("description", "").split(". ", 1)[0].strip()
                operation["summary"] = first.rstrip(".") or operation["operationId"]
            responses = operation.get("responses", {})
            revalidated = "304" in responses
            for code, response in responses.items():
                if "$ref" in response:
                    continue
                if code.startswith("2") and not response.get("description"):
                    response["description"] = operation["summary"] + "."
                headers = dict(response.get("headers", {}))
                if revalidated and code in ("200", "304"):
                    headers.update(
                        _header_refs({"ETag": "ETag", "Cache-Control": "CacheControlRevalidate"})
                    )
                else:
                    headers.update(_header_refs({"Cache-Control": "CacheControlPersonal"}))
                if code.startswith("2") or code == "429":
                    headers.update(_header_refs(_RATE_LIMIT))
                if code == "429":
                    headers.update(_header_refs({"Retry-After": "RetryAfter"}))
                response["headers"] = headers
    result.setdefault("components", {})["headers"] = HEADERS
    return result
