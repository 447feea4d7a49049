from typing import Any

from django import template
from django.utils.safestring import SafeString

from apps.core.markdown import markdown_render
from apps.progress.models import Status

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return markdown_render(text)


@register.filter
def duration(minutes: int | None) -> str:
    """Minutes as a short human duration: ``45 min``, ``3 h``, ``2 h 30 min``."""
    if not minutes:
        return "0 min"
    hours, mins = divmod(int(minutes), 60)
    if not hours:
        return f"{mins} min"
    return f"{hours} h {mins} min" if mins else f"{hours} h"


STATUS_LABELS = dict(Status.choices)
# The buttons under each step: a segmented control whose pressed button is the status.
STATUS_ACTIONS: list[tuple[str, str]] = [
    (Status.TODO, "To do"),
    (Status.IN_PROGRESS, "In progress"),
    (Status.DONE, "Done"),
    (Status.SKIPPED, "Skip"),
]


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@register.simple_tag
def status_actions() -> list[tuple[str, str]]:
    return STATUS_ACTIONS


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    """``mapping|get_item:key``: a dictionary lookup by a variable key."""
    return mapping.get(key) if mapping else None
