"""Every answer of /api/v1/ checked against the committed schema (docs/openapi.yaml), as a
strict client would read it: a documented status, the documented media type, and a body
that validates with additional properties refused everywhere the schema lists properties."""

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

API_PREFIX = "/api/v1/"


def refuse_additional_properties(node: Any) -> None:
    """An object schema that lists its properties allows no others (OAS allows them by
    default; a client generated from the schema would silently keep them)."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            refuse_additional_properties(value)
    elif isinstance(node, list):
        for value in node:
            refuse_additional_properties(value)


@dataclass
class SchemaCheck:
    """An httpx response hook: fails the request's caller on the first answer that breaks
    the schema, and counts what it checked."""

    spec: dict[str, Any]
    checked: list[tuple[str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.spec = copy.deepcopy(self.spec)
        refuse_additional_properties(self.spec)
        self.operations = [
            (method.upper(), re.compile(re.sub(r"\{[^/}]+\}", "[^/]+", path) + "$"), path, op)
            for path, item in self.spec["paths"].items()
            for method, op in item.items()
            if method in {"get", "put", "post", "patch", "delete", "head", "options"}
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        found = [(t, op) for m, rx, t, op in self.operations if m == method and rx.match(path)]
        assert found, f"{method} {path} is not in the schema"
        # A literal segment beats a parameter: the template with fewest parameters.
        template, op = min(found, key=lambda pair: pair[0].count("{"))
        return template, op

    def validate(self, instance: Any, schema: dict[str, Any], where: str) -> None:
        root = {"allOf": [schema], "components": self.spec["components"]}
        validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, f"{where}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
        )

    def __call__(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if not path.startswith(API_PREFIX):
            return
        response.read()
        method = response.request.method
        template, op = self.operation(method, path)
        where = f"{method} {template} -> {response.status_code}"
        documented = op["responses"].get(str(response.status_code)) or op["responses"].get(
            "default"
        )
        assert documented is not None, f"{where} is not a documented status"
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, f"{where}: no {name} header"
        content = documented.get("content")
        if not content:
            assert not response.content, f"{where}: a body where the schema says none"
        else:
            media = response.headers.get("content-type", "").split(";")[0].strip()
            assert media in content, f"{where}: {media!r} is not one of {sorted(content)}"
            self.validate(json.loads(response.content), content[media]["schema"], where)
        self.checked.append((method, template, response.status_code))
