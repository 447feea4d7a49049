"""Template helpers for what a learner sees: a step's status and the buttons that set it."""

from django import template
from django.conf import settings

from apps.progress.models import Status

register = template.Library()

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


@register.filter
def choose_label(required: int) -> str:
    """How a choice group asks: "Choose one", "Choose 2"."""
    return "Choose one" if required == 1 else f"Choose {required}"


@register.simple_tag
def status_actions() -> list[tuple[str, str]]:
    return STATUS_ACTIONS


@register.filter
def lines(values: list[str]) -> str:
    """A list shown one item per line (a textarea of links)."""
    return "\n".join(values)


@register.simple_tag
def note_max_chars() -> int:
    return int(settings.STEPWISE_NOTE_MAX_CHARS)
