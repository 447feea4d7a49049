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
