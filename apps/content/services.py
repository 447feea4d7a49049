"""State changes to roadmap content. Admin, commands and tasks all call these."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Model, Q

from apps.content.models import ContentRevision, Resource, Step, StepResource, Track
from apps.content.roadmaps import TrackSpec, prerequisite_cycle_find, roadmaps_parse
from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError

StepPrerequisite = Step.prerequisites.through
M = TypeVar("M", bound=Model)


def content_revision_bump() -> None:
    """Move the content revision on: caches keyed by the old one stop being used.

    Every write to tracks, steps, resources, their links or prerequisites calls it: the
    services here (and the services of apps above that change content through them) and
    content's admin save and delete hooks. Call it after the write, inside the writer's
    transaction, so readers see the new number together with the new content, never
    before it.
    """
    if not ContentRevision.objects.filter(pk=1).update(number=F("number") + 1):
        ContentRevision.objects.get_or_create(pk=1, defaults={"number": 1})


def step_prerequisites_validate(*, step: Step, prerequisites: Iterable[Step]) -> None:
    """Refuse prerequisites from another track, the step itself, or ones that close a cycle."""
    wanted = list(prerequisites)
    for other in wanted:
        if other.track_id != step.track_id:
            raise ApplicationError(
                f"“{other.title}” belongs to another track; prerequisites must be steps of "
                f"“{step.track.title}”.",
                extra={"field": "prerequisites"},
            )
        if other.pk == step.pk:
            raise ApplicationError(
                "A step cannot be its own prerequisite.", extra={"field": "prerequisites"}
            )
    graph: dict[str, list[str]] = {}
    edges = StepPrerequisite.objects.filter(from_step__track_id=step.track_id).values_list(
        "from_step_id", "to_step_id"
    )
    for after, before in edges:
        if after != step.pk:
            graph.setdefault(str(after), []).append(str(before))
    graph[str(step.pk)] = [str(other.pk) for other in wanted]
    cycle = prerequisite_cycle_find(graph)
    if cycle:
        titles = dict(
            Step.objects.filter(pk__in={int(k) for k in cycle}).values_list("pk", "title")
        )
        names = " → ".join(f"“{titles[int(k)]}”" for k in cycle)
        raise ApplicationError(
            f"These prerequisites would form a cycle: {names}.", extra={"field": "prerequisites"}
        )


@transaction.atomic
def tracks_publish_set(*, track_ids: Iterable[int], published: bool) -> int:
    """Publish or unpublish tracks; returns how many changed."""
    changed = (
        Track.objects.filter(pk__in=list(track_ids))
        .exclude(is_published=published)
        .update(is_published=published)
    )
    if changed:
        content_revision_bump()
    return changed


@transaction.atomic
def resource_url_set(*, resource: Resource, url: str) -> Resource:
    """Point a resource at another URL: normalized, validated, used by no other resource."""
    new_url = url_normalize(url)
    if new_url == resource.url:
        raise ApplicationError("The new URL is the same as the current one.")
    if Resource.objects.filter(url=new_url).exclude(pk=resource.pk).exists():
        raise ApplicationError(f"Another resource already uses {new_url}.")
    resource.url = new_url
    try:
        resource.full_clean()
    except ValidationError as exc:
        raise ApplicationError("; ".join(exc.messages)) from exc
    resource.save()
    content_revision_bump()
    return resource


# --- loading roadmap files ------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged" + (
            f", {self.deleted} removed" if self.deleted else ""
        )


@dataclass
class LoadReport:
    files: list[Path] = field(default_factory=list)
    tracks: Tally = field(default_factory=Tally)
    steps: Tally = field(default_factory=Tally)
    resources: Tally = field(default_factory=Tally)
    links: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> bool:
        return any(
            t.created or t.updated or t.deleted
            for t in (self.tracks, self.steps, self.resources, self.links)
        )


def _apply(obj: Model, values: dict[str, object]) -> bool:
    """Set the values that differ; return whether anything did."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return bool(changed)


def _upsert(model: type[M], existing: M | None, values: dict[str, object], tally: Tally) -> M:
    if existing is None:
        obj = model(**values)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        tally.created += 1
        return obj
    if _apply(existing, values):
        existing.full_clean(validate_unique=False, validate_constraints=False)
        existing.save()
        tally.updated += 1
    else:
        tally.unchanged += 1
    return existing


def _resources_save(merged: dict[str, dict[str, str]], report: LoadReport) -> dict[str, Resource]:
    existing = {r.url: r for r in Resource.objects.filter(url__in=list(merged))}
    saved: dict[str, Resource] = {}
    for url, attributes in merged.items():
        if url not in existing and not attributes.get("title"):
            raise ApplicationError(f"{url}: title is required the first time a resource appears.")
        saved[url] = _upsert(
            Resource, existing.get(url), {"url": url, **attributes}, report.resources
        )
    return saved


def _track_save(spec: TrackSpec, resources: dict[str, Resource], report: LoadReport) -> None:
    track = _upsert(
        Track,
        Track.objects.filter(slug=spec.slug).first(),
        {
            "slug": spec.slug,
            "title": spec.title,
            "summary": spec.summary,
            "description": spec.description,
            "level": spec.level,
            "goal": spec.goal,
            "position": spec.position,
            "is_published": spec.published,
        },
        report.tracks,
    )
    existing = {s.key: s for s in Step.objects.filter(track=track)}
    steps: dict[str, Step] = {}
    for position, step_spec in enumerate(spec.steps, start=1):
        steps[step_spec.key] = _upsert(
            Step,
            existing.get(step_spec.key),
            {
                "track": track,
                "key": step_spec.key,
                "position": position,
                "title": step_spec.title,
                "description": step_spec.description,
                "estimated_minutes": step_spec.minutes,
                "is_optional": step_spec.optional,
            },
            report.steps,
        )
    gone = [s.pk for key, s in existing.items() if key not in steps]
    if gone:
        # Steps dropped from the file go, with any progress on them; kept keys keep theirs.
        Step.objects.filter(pk__in=gone).delete()
        report.steps.deleted += len(gone)

    # Prerequisites: diff the edge set so an unchanged file writes nothing.
    wanted_edges = {(steps[s.key].pk, steps[p].pk) for s in spec.steps for p in s.prerequisites}
    current_edges = set(
        StepPrerequisite.objects.filter(from_step__track=track).values_list(
            "from_step_id", "to_step_id"
        )
    )
    if removed := current_edges - wanted_edges:
        condition = Q()
        for after, before in removed:
            condition |= Q(from_step_id=after, to_step_id=before)
        StepPrerequisite.objects.filter(condition).delete()
    if added := wanted_edges - current_edges:
        StepPrerequisite.objects.bulk_create(
            [StepPrerequisite(from_step_id=after, to_step_id=before) for after, before in added]
        )

    # Links between steps and resources carry their own position and note.
    current = {
        (link.step_id, link.resource_id): link
        for link in StepResource.objects.filter(step__track=track)
    }
    wanted: set[tuple[int, int]] = set()
    for step_spec in spec.steps:
        step = steps[step_spec.key]
        for position, use in enumerate(step_spec.resources, start=1):
            pair = (step.pk, resources[use.url].pk)
            wanted.add(pair)
            _upsert(
                StepResource,
                current.get(pair),
                {
                    "step": step,
                    "resource": resources[use.url],
                    "position": position,
                    "note": use.note,
                },
                report.links,
            )
    stale = [link.pk for pair, link in current.items() if pair not in wanted]
    if stale:
        StepResource.objects.filter(pk__in=stale).delete()
        report.links.deleted += len(stale)


@transaction.atomic
def roadmaps_load(*, paths: list[Path]) -> LoadReport:
    """Load roadmap files into the database, all or nothing.

    Tracks are matched by slug, steps by key within their track and resources by
    normalized URL, so a second run of the same files changes nothing and an
    edited file updates in place, keeping learners' progress on every kept step.
    Invalid files raise ``RoadmapError`` before anything is written.
    """
    tracks, merged = roadmaps_parse(paths)
    report = LoadReport(files=list(paths))
    resources = _resources_save(merged, report)
    for spec in tracks:
        _track_save(spec, resources, report)
    if report.changed:
        content_revision_bump()
    return report
