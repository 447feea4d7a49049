from typing import Any

from django import template
from django.utils.safestring import SafeString

from apps.core.markdown import markdown_render

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return markdown_render(text)


#: From this many hours on, a duration is rounded to the hour: "578 h", not "578 h 20 min".
WHOLE_HOURS_FROM = 10


@register.filter
def duration(minutes: int | None) -> str:
    """Minutes as a short human duration: ``45 min``, ``3 h``, ``2 h 30 min``; from
    ``WHOLE_HOURS_FROM`` hours on, to the nearest hour (half an hour rounds up)."""
    if not minutes:
        return "0 min"
    minutes = int(minutes)
    if minutes >= WHOLE_HOURS_FROM * 60:
        return f"{(minutes + 30) // 60} h"
    hours, mins = divmod(minutes, 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    """``mapping|get_item:key``: a dictionary lookup by a variable key."""
    return mapping.get(key) if mapping else None


@register.filter
def minus(value: int | None, other: int | None) -> int:
    """``a|minus:b``: a difference of two counts."""
    return int(value or 0) - int(other or 0)
