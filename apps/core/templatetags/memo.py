"""``{% memo key... %}...{% endmemo %}``: render a fragment once per process and key.

For the parts of a page that depend on content alone (a step's title, description and
resources), keyed by the content revision: any edit moves the revision on, so a stale
fragment is never served, and nothing has to be invalidated. The memo lives in the
process (no network round trip per fragment) and keeps the most recent
``STEPWISE_FRAGMENT_MEMO_SIZE`` fragments. Never put anything that depends on who is
asking (status, CSRF token, forms) inside a memo block.
"""

import threading
from collections import OrderedDict
from typing import Any

from django import template
from django.conf import settings
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context

register = template.Library()

_fragments: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_lock = threading.Lock()


class MemoNode(template.Node):
    def __init__(self, nodelist: NodeList, parts: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.parts = parts

    def render(self, context: Context) -> str:
        key = tuple(part.resolve(context) for part in self.parts)
        with _lock:
            html = _fragments.get(key)
            if html is not None:
                _fragments.move_to_end(key)
                return html
        html = self.nodelist.render(context)
        with _lock:
            _fragments[key] = html
            while len(_fragments) > settings.STEPWISE_FRAGMENT_MEMO_SIZE:
                _fragments.popitem(last=False)
        return html


@register.tag
def memo(parser: Parser, token: Token) -> MemoNode:
    parts = token.split_contents()[1:]
    if not parts:
        raise template.TemplateSyntaxError("{% memo %} needs a name and the values it depends on.")
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    return MemoNode(nodelist, [parser.compile_filter(part) for part in parts])


def memo_clear() -> None:
    """Forget every fragment (tests)."""
    with _lock:
        _fragments.clear()
