"""Reading roadmap files: YAML, one track per file, validated before anything is saved.

The format is described for curators in ``docs/roadmap-format.md``. Parsing is
pure (no database): it turns files into plain dataclasses or a list of problems,
each naming the file, the field and what is wrong.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apps.content.models import Resource, Track
from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")

TRACK_FIELDS = {
    "slug",
    "title",
    "summary",
    "description",
    "level",
    "goal",
    "position",
    "published",
    "steps",
    "groups",
}
TRACK_REQUIRED = {"slug", "title", "level", "steps"}
STEP_FIELDS = {"key", "title", "description", "minutes", "optional", "prerequisites", "resources"}
STEP_REQUIRED = {"key", "title", "minutes"}
GROUP_FIELDS = {"key", "title", "description", "choose", "steps"}
GROUP_REQUIRED = {"key", "title", "steps"}
RESOURCE_FIELDS = {"url", "title", "kind", "provider", "cost", "duration", "language", "note"}
# Attributes of the resource itself (the note belongs to its use in one step).
RESOURCE_ATTRIBUTES = ("title", "kind", "provider", "cost", "duration", "language")
MAX_LENGTHS = {
    "title": 200,
    "summary": 300,
    "goal": 100,
    "provider": 100,
    "duration": 100,
    "note": 300,
    "url": 500,
}


@dataclass
class ResourceUse:
    url: str
    attributes: dict[str, str]
    note: str
    where: str


@dataclass
class StepSpec:
    key: str
    title: str
    description: str
    minutes: int
    optional: bool
    prerequisites: list[str]
    resources: list[ResourceUse]


@dataclass
class GroupSpec:
    key: str
    title: str
    description: str
    #: How many of its steps complete the group.
    choose: int
    steps: list[str]


@dataclass
class TrackSpec:
    path: Path
    slug: str
    title: str
    summary: str
    description: str
    level: str
    goal: str
    position: int
    published: bool
    steps: list[StepSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)


class RoadmapError(ApplicationError):
    """One or more roadmap files are invalid; ``problems`` lists every one."""

    def __init__(self, problems: list[str]) -> None:
        summary = f"{len(problems)} problem(s) in roadmap files; nothing was loaded:\n"
        super().__init__(
            summary + "\n".join(f"  - {p}" for p in problems), extra={"problems": problems}
        )
        self.problems = problems


class _Collector:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{self.path}: {where}: {problem}")

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(f"{where}{key}", "is required")
            return ""
        if not isinstance(value, str):
            self.add(f"{where}{key}", f"must be text, got {type(value).__name__}")
            return ""
        value = value.strip()
        if "\x00" in value:
            self.add(f"{where}{key}", "contains a NUL character")
            return ""
        if required and not value:
            self.add(f"{where}{key}", "must not be empty")
        limit = MAX_LENGTHS.get(key)
        if limit and len(value) > limit:
            self.add(f"{where}{key}", f"is {len(value)} characters long; the limit is {limit}")
        return value

    def choice(
        self, data: dict[str, Any], key: str, where: str, choices: list[str], default: str
    ) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.add(f"{where}{key}", f"{value!r} is not one of {', '.join(choices)}")
            return default
        return str(value)

    def unknown(self, data: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.add(f"{where}{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def missing(self, data: dict[str, Any], required: set[str], where: str) -> None:
        for key in sorted(required - set(data)):
            self.add(f"{where}{key}", "is required")

    def keyed_mapping(
        self, data: Any, where: str, required: set[str], allowed: set[str], shape: str
    ) -> str | None:
        """Check a step's or a group's mapping: its fields and its ``key``. Returns the
        key ("" when missing or invalid), or None when ``data`` is not a mapping."""
        if not isinstance(data, dict):
            self.add(where.rstrip("."), shape)
            return None
        self.missing(data, required, where)
        self.unknown(data, allowed, where)
        key = self.text(data, "key", where, required="key" in data)
        if key and not SLUG_RE.match(key):
            self.add(f"{where}key", f"{key!r} must be lowercase letters, digits and hyphens")
        return key


def _parse_resource(c: _Collector, data: Any, where: str) -> ResourceUse | None:
    if not isinstance(data, dict):
        c.add(where.rstrip("."), "must be a mapping with at least a url")
        return None
    c.unknown(data, RESOURCE_FIELDS, where)
    raw_url = c.text(data, "url", where, required=True)
    if not raw_url:
        return None
    try:
        url = url_normalize(raw_url)
    except ApplicationError as exc:
        c.add(f"{where}url", exc.message)
        return None
    attributes: dict[str, str] = {}
    for key in ("title", "provider", "duration"):
        if key in data:
            attributes[key] = c.text(data, key, where, required=False)
    if "kind" in data:
        attributes["kind"] = c.choice(data, "kind", where, Resource.Kind.values, "website")
    if "cost" in data:
        attributes["cost"] = c.choice(data, "cost", where, Resource.Cost.values, "unknown")
    if "language" in data:
        language = c.text(data, "language", where, required=False)
        if language and not LANGUAGE_RE.match(language):
            c.add(f"{where}language", f"{language!r} is not a language code such as en or pt-BR")
        attributes["language"] = language
    note = c.text(data, "note", where, required=False)
    return ResourceUse(url=url, attributes=attributes, note=note, where=f"{c.path}: {where}")


def prerequisite_cycle_find(prerequisites: dict[str, list[str]]) -> list[str] | None:
    """Return one cycle of step keys (first key repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for before in prerequisites.get(key, []):
            if state.get(before) == 1:
                return [*path[path.index(before) :], before]
            if before not in state and (cycle := visit(before)):
                return cycle
        path.pop()
        state[key] = 2
        return None

    for key in prerequisites:
        if key not in state and (cycle := visit(key)):
            return cycle
    return None


def _parse_step(c: _Collector, data: Any, where: str) -> StepSpec | None:
    key = c.keyed_mapping(data, where, STEP_REQUIRED, STEP_FIELDS, "must be a mapping")
    if key is None:
        return None
    minutes = data.get("minutes", 0)
    if "minutes" in data and (
        not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1
    ):
        c.add(f"{where}minutes", f"{minutes!r} must be a whole number of minutes, at least 1")
        minutes = 0
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        c.add(f"{where}optional", f"{optional!r} must be true or false")
        optional = False
    prerequisites = data.get("prerequisites") or []
    if not isinstance(prerequisites, list) or not all(isinstance(p, str) for p in prerequisites):
        c.add(f"{where}prerequisites", "must be a list of step keys")
        prerequisites = []
    raw_resources = data.get("resources") or []
    if not isinstance(raw_resources, list):
        c.add(f"{where}resources", "must be a list")
        raw_resources = []
    resources = []
    seen_urls: set[str] = set()
    for index, raw in enumerate(raw_resources):
        use = _parse_resource(c, raw, f"{where}resources[{index}].")
        if use is None:
            continue
        if use.url in seen_urls:
            c.add(f"{where}resources[{index}].url", f"{use.url} is listed twice in this step")
            continue
        seen_urls.add(use.url)
        resources.append(use)
    return StepSpec(
        key=key,
        title=c.text(data, "title", where, required="title" in data),
        description=c.text(data, "description", where, required=False),
        minutes=minutes,
        optional=optional,
        prerequisites=list(prerequisites),
        resources=resources,
    )


def _parse_group(c: _Collector, data: Any, where: str) -> GroupSpec | None:
    key = c.keyed_mapping(
        data, where, GROUP_REQUIRED, GROUP_FIELDS, "must be a mapping with key, title and steps"
    )
    if key is None:
        return None
    choose = data.get("choose", 1)
    if not isinstance(choose, int) or isinstance(choose, bool) or choose < 1:
        c.add(f"{where}choose", f"{choose!r} must be a whole number, at least 1")
        choose = 1
    steps = data.get("steps") or []
    if not isinstance(steps, list) or not all(isinstance(k, str) for k in steps):
        c.add(f"{where}steps", "must be a list of step keys")
        steps = []
    return GroupSpec(
        key=key,
        title=c.text(data, "title", where, required="title" in data),
        description=c.text(data, "description", where, required=False),
        choose=choose,
        steps=list(steps),
    )


def _check_groups(c: _Collector, track: "TrackSpec", raw_groups: list[Any]) -> None:
    """Parse the track's choice groups and check them against its steps."""
    steps = {s.key: s for s in track.steps}
    member_of: dict[str, str] = {}
    group_keys: set[str] = set()
    for index, raw in enumerate(raw_groups):
        where = f"groups[{index}]"
        group = _parse_group(c, raw, f"{where}.")
        if group is None:
            continue
        name = f"{where} ({group.key!r})" if group.key else where
        if group.key in steps:
            c.add(f"{name}.key", f"{group.key!r} is already the key of a step of this track")
        elif group.key and group.key in group_keys:
            c.add(f"{name}.key", f"{group.key!r} is used by another group of this track")
        group_keys.add(group.key)
        for key in group.steps:
            if key not in steps:
                c.add(f"{name}.steps", f"{key!r} is not the key of a step in this track")
            elif key in member_of:
                c.add(f"{name}.steps", f"{key!r} is already in the group {member_of[key]!r}")
            elif steps[key].optional:
                c.add(
                    f"{name}.steps",
                    f"{key!r} is optional; a step of a choice group cannot be (the group "
                    "says how many of its steps count)",
                )
            else:
                member_of[key] = group.key
        if len(set(group.steps)) != len(group.steps):
            c.add(f"{name}.steps", "lists a step twice")
        if len(set(group.steps)) < 2:
            c.add(f"{name}.steps", "a choice group needs at least two steps")
        elif group.choose > len(set(group.steps)):
            c.add(
                f"{name}.choose",
                f"{group.choose} is more than the group's {len(set(group.steps))} steps",
            )
        track.groups.append(group)


def roadmap_parse(path: Path) -> tuple[TrackSpec | None, list[str]]:
    """Parse one file; return the track and the problems found (empty when valid)."""
    c = _Collector(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        c.add("file", "does not exist")
        return None, c.problems
    except (OSError, UnicodeDecodeError) as exc:
        c.add("file", f"cannot be read as UTF-8 text ({exc})")
        return None, c.problems
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        c.add(where, f"is not valid YAML ({getattr(exc, 'problem', None) or exc})")
        return None, c.problems
    return roadmap_data_parse(data, path)


def roadmap_data_parse(data: Any, path: Path) -> tuple[TrackSpec | None, list[str]]:
    """Check one roadmap document (the mapping a file holds); ``path`` names it in the
    problems. Returns the track and the problems found (empty when valid)."""
    c = _Collector(path)
    if not isinstance(data, dict):
        c.add("file", "must hold a mapping with slug, title, level and steps")
        return None, c.problems

    c.missing(data, TRACK_REQUIRED, "")
    c.unknown(data, TRACK_FIELDS, "")
    slug = c.text(data, "slug", "", required="slug" in data)
    if slug and not SLUG_RE.match(slug):
        c.add("slug", f"{slug!r} must be lowercase letters, digits and hyphens")
    position = data.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        c.add("position", f"{position!r} must be a whole number, 0 or more")
        position = 0
    published = data.get("published", True)
    if not isinstance(published, bool):
        c.add("published", f"{published!r} must be true or false")
        published = False
    track = TrackSpec(
        path=path,
        slug=slug,
        title=c.text(data, "title", "", required="title" in data),
        summary=c.text(data, "summary", "", required=False),
        description=c.text(data, "description", "", required=False),
        level=c.choice(data, "level", "", Track.Level.values, Track.Level.BEGINNER),
        goal=c.text(data, "goal", "", required=False),
        position=position,
        published=published,
    )

    raw_steps = data.get("steps")
    if "steps" in data and (not isinstance(raw_steps, list) or not raw_steps):
        c.add("steps", "must be a non-empty list")
        raw_steps = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_steps or []):
        step = _parse_step(c, raw, f"steps[{index}].")
        if step is None:
            continue
        if step.key and step.key in keys:
            c.add(f"steps[{index}].key", f"{step.key!r} is used by another step of this track")
        keys.add(step.key)
        track.steps.append(step)
    raw_groups = data.get("groups") or []
    if not isinstance(raw_groups, list):
        c.add("groups", "must be a list")
        raw_groups = []
    _check_groups(c, track, raw_groups)
    group_of = {key: g.key for g in track.groups for key in g.steps}
    groups = {g.key: g for g in track.groups}
    for index, step in enumerate(track.steps):
        for prerequisite in step.prerequisites:
            if prerequisite == step.key:
                c.add(f"steps[{index}].prerequisites", "a step cannot require itself")
            elif prerequisite == group_of.get(step.key):
                c.add(f"steps[{index}].prerequisites", "a step cannot require its own group")
            elif prerequisite not in keys and prerequisite not in groups:
                c.add(
                    f"steps[{index}].prerequisites",
                    f"{prerequisite!r} is not the key of a step or group in this track",
                )
    # A group stands for its steps: requiring it is requiring them, for cycles.
    graph = {
        s.key: [p for p in s.prerequisites if (p in keys or p in groups) and p != s.key]
        for s in track.steps
    }
    for group in track.groups:
        graph.setdefault(group.key, []).extend(k for k in group.steps if k in keys)
    if cycle := prerequisite_cycle_find(graph):
        c.add("steps.prerequisites", f"prerequisites form a cycle: {' -> '.join(cycle)}")
    return (None if c.problems else track), c.problems


def roadmaps_parse(paths: list[Path]) -> tuple[list[TrackSpec], dict[str, dict[str, str]]]:
    """Parse every file; raise one RoadmapError listing every problem in all of them.

    Returns the tracks and, per normalized URL, the resource attributes merged
    from every mention.
    """
    problems: list[str] = []
    tracks: list[TrackSpec] = []
    slugs: dict[str, Path] = {}
    for path in paths:
        track, found = roadmap_parse(path)
        problems.extend(found)
        if track is None:
            continue
        if track.slug in slugs:
            problems.append(f"{path}: slug: {track.slug!r} is also the slug of {slugs[track.slug]}")
            continue
        slugs[track.slug] = path
        tracks.append(track)
    merged, merge_problems = resources_merge(tracks)
    problems.extend(merge_problems)
    if problems:
        raise RoadmapError(problems)
    return tracks, merged


def resources_merge(tracks: list[TrackSpec]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Combine every mention of each URL; two mentions may not disagree."""
    merged: dict[str, dict[str, str]] = {}
    first_seen: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for track in tracks:
        for step in track.steps:
            for use in step.resources:
                attributes = merged.setdefault(use.url, {})
                for name, value in use.attributes.items():
                    if not value:
                        continue
                    if name in attributes and attributes[name] != value:
                        problems.append(
                            f"{use.where}{name}: {value!r} disagrees with {attributes[name]!r} "
                            f"given for the same URL at {first_seen[(use.url, name)]}"
                        )
                        continue
                    attributes[name] = value
                    first_seen.setdefault((use.url, name), use.where)
    return merged, problems


def roadmap_paths(paths: list[Path] | None, default_dir: Path) -> list[Path]:
    """The files to load: the given ones (folders expanded) or every built-in file."""
    targets = paths or [default_dir]
    files: list[Path] = []
    for target in targets:
        if target.is_dir():
            files.extend(sorted(p for p in target.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(target)
    return files
