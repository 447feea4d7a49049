"""A track drawn as a map: a server-rendered SVG computed from its steps.

Steps are nodes in track order on one line (the spine); optional steps and the steps of a
choice group branch off it to the right; prerequisites other than the step just before
are arcs on the left. Each node is a link to its step on the page and shows the
learner's status by colour and by shape (a tick, a half disc, a slash), so it reads
without colour too. The SVG has a fixed size in CSS pixels: on a narrow screen it
scrolls sideways instead of shrinking its 13 px text.
"""

from dataclasses import dataclass
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.content.models import ChoiceGroup, Step
from apps.learning.templatetags.learning import choose_label
from apps.progress.models import Status

ROW = 30  # px between two nodes
TOP = 18
SPINE_X = 34  # the required steps' line
BRANCH_X = 58  # optional steps and the steps of a choice group
LABEL_GAP = 16
WIDTH = 360
LABEL_CHARS = 38  # about what fits in WIDTH at 13 px; the full title is in <title>
STATUS_WORDS: dict[str, str] = {
    Status.TODO: "to do",
    Status.IN_PROGRESS: "in progress",
    Status.DONE: "done",
    Status.SKIPPED: "skipped",
}


@dataclass(frozen=True)
class _Node:
    key: str  # the anchor on the page
    label: str
    x: int
    y: int
    status: str | None  # None: a visitor, or a choice group's own node
    is_group: bool = False


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def _mark(node: _Node) -> SafeString:
    """The node's shape: a circle styled by status, plus a shape that says it too."""
    x, y = node.x, node.y
    if node.is_group:
        return format_html('<path class="map-group" d="M{} {}l8 8l-8 8l-8 -8z"/>', x, y - 8)
    status = node.status or Status.TODO
    shapes = [format_html('<circle class="map-node map-{}" cx="{}" cy="{}" r="8"/>', status, x, y)]
    if status == Status.DONE:
        shapes.append(format_html('<path class="map-tick" d="M{} {}l3 3l6 -7"/>', x - 4, y))
    elif status == Status.IN_PROGRESS:
        shapes.append(format_html('<path class="map-half" d="M{} {}a8 8 0 0 1 0 16z"/>', x, y - 8))
    elif status == Status.SKIPPED:
        shapes.append(format_html('<path class="map-slash" d="M{} {}l10 -10"/>', x - 5, y + 5))
    return mark_safe("".join(shapes))  # noqa: S308 - each part built by format_html


def _arc(start: _Node, end: _Node) -> SafeString:
    """A prerequisite: an arc on the left from the earlier node to the later one; the
    longer the arc, the further left it bends, so nested arcs do not overlap."""
    bend = max(4, SPINE_X - 12 - (end.y - start.y) // ROW * 2)
    return format_html(
        '<path class="map-edge" d="M{} {}C{} {} {} {} {} {}" marker-end="url(#map-arrow)"/>',
        start.x - 8,
        start.y,
        bend,
        start.y,
        bend,
        end.y,
        end.x - 9,
        end.y,
    )


def track_map_svg(*, items: list, signed_in: bool, title: str) -> SafeString:
    """The map of a track's ``items`` (``TrackView.items``: step views and group views,
    in order), with the learner's statuses when ``signed_in``."""
    nodes: dict[tuple[str, int], _Node] = {}
    order: list[_Node] = []
    steps: list = []

    def add(kind: str, pk: int, node: _Node) -> None:
        nodes[(kind, pk)] = node
        order.append(node)

    def add_step(view: Any, lane: int) -> None:
        step: Step = view.step
        status = view.status if signed_in else None
        y = TOP + len(order) * ROW
        add("step", step.pk, _Node(f"step-{step.key}", _short(step.title), lane, y, status))
        steps.append(view)

    for entry in items:
        if entry.is_group:
            group: ChoiceGroup = entry.group
            label = f"{choose_label(entry.required)}: {group.title}"
            y = TOP + len(order) * ROW
            add("group", group.pk, _Node(group.anchor, _short(label), SPINE_X, y, None, True))
            for view in entry.steps:
                add_step(view, BRANCH_X)
        else:
            add_step(entry, BRANCH_X if entry.step.is_optional else SPINE_X)
    if not order:
        return mark_safe("")

    lines = []
    if len(order) > 1:
        lines.append(
            format_html('<path class="map-spine" d="M{} {}V{}"/>', SPINE_X, order[0].y, order[-1].y)
        )
    lines.extend(
        format_html('<path class="map-branch" d="M{} {}H{}"/>', SPINE_X, n.y, n.x - 8)
        for n in order
        if n.x == BRANCH_X
    )
    arcs = []
    row_of = {id(node): row for row, node in enumerate(order)}
    for view in steps:
        end = nodes[("step", view.step.pk)]
        index = row_of[id(end)]
        for prerequisite in view.prerequisites:
            kind = "group" if isinstance(prerequisite, ChoiceGroup) else "step"
            start = nodes.get((kind, prerequisite.pk))
            if start is None or row_of[id(start)] >= index:
                continue
            if row_of[id(start)] == index - 1 and start.x == end.x == SPINE_X:
                continue  # the spine already says "after the step before"
            arcs.append(_arc(start, end))

    def link(node: _Node) -> SafeString:
        state = "" if node.status is None else f", {STATUS_WORDS.get(node.status, node.status)}"
        return format_html(
            '<a href="#{}" class="map-link"><title>{}{}</title>{}'
            '<text x="{}" y="{}" class="map-label">{}</text></a>',
            node.key,
            node.label,
            state,
            _mark(node),
            node.x + LABEL_GAP,
            node.y + 4,
            node.label,
        )

    height = TOP * 2 + (len(order) - 1) * ROW
    return format_html(
        '<svg class="track-map" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" role="group" aria-label="Map of {title}: {n} steps; the '
        'list below says the same in words">'
        '<defs><marker id="map-arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" '
        'markerHeight="6" orient="auto"><path class="map-arrowhead" d="M0 0L6 3L0 6z"/>'
        "</marker></defs>{lines}{arcs}{links}</svg>",
        w=WIDTH,
        h=height,
        title=title,
        n=len(steps),
        lines=mark_safe("".join(lines)),  # noqa: S308 - built by format_html
        arcs=mark_safe("".join(arcs)),  # noqa: S308 - built by format_html
        links=format_html_join("", "{}", ((link(n),) for n in order)),
    )
