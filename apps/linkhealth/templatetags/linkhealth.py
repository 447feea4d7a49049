from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

COLOURS = {
    "ok": "#2e7d32",
    "moved": "#1565c0",
    "broken": "#c62828",
    "error": "#ef6c00",
    "blocked": "#6d4c41",
    "unknown": "#757575",
}


@register.simple_tag
def health_badge(health: str | None) -> SafeString:
    """An SVG pill for a health value (rendered from a template, no script, no CSS)."""
    label = health or "unknown"
    width = 12 + 7 * len(label)
    svg = render_to_string(
        "linkhealth/_badge.svg",
        {
            "label": label,
            "width": width,
            "half": width / 2,
            "colour": COLOURS.get(label, COLOURS["unknown"]),
        },
    )
    return mark_safe(svg.strip())  # noqa: S308 - rendered from our template, values escaped
