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
