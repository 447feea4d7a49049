"""State changes to roadmap content. Admin, commands and tasks all call these."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.content.models import (
    ChoiceGroup,
    ContentRevision,
    Resource,
    Step,
    StepResource,
    Track,
    TrackChange,
)
from apps.content.roadmaps import (
    RoadmapError,
    TrackSpec,
    prerequisite_cycle_find,
    resources_merge,
    roadmap_data_parse,
    roadmaps_parse,
)
from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError

StepPrerequisite = Step.prerequisites.through
StepGroupPrerequisite = Step.prerequisite_groups.through
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


def step_prerequisites_validate(
    *,
    step: Step,
    prerequisites: Iterable[Step],
    prerequisite_groups: Iterable[ChoiceGroup] = (),
    group: ChoiceGroup | None = None,
) -> None:
    """Refuse prerequisites from another track, the step itself, or ones that close a cycle.

    A choice group stands for its steps: requiring a group requires its steps, so the
    step's group (``group``, the one it is saved into) and the groups it requires take
    part in the cycle check as the roadmap loader's check has them.
    """
    wanted = list(prerequisites)
    wanted_groups = list(prerequisite_groups)
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
    for after, before in StepPrerequisite.objects.filter(
        from_step__track_id=step.track_id
    ).values_list("from_step_id", "to_step_id"):
        if after != step.pk:
            graph.setdefault(f"s{after}", []).append(f"s{before}")
    for after, group_id in StepGroupPrerequisite.objects.filter(
        step__track_id=step.track_id
    ).values_list("step_id", "choicegroup_id"):
        if after != step.pk:
            graph.setdefault(f"s{after}", []).append(f"g{group_id}")
    for member, group_id in (
        Step.objects.current()
        .filter(track_id=step.track_id, group__isnull=False)
        .values_list("pk", "group_id")
    ):
        if member != step.pk:
            graph.setdefault(f"g{group_id}", []).append(f"s{member}")
    if group is not None:
        graph.setdefault(f"g{group.pk}", []).append(f"s{step.pk}")
    graph[f"s{step.pk}"] = [f"s{other.pk}" for other in wanted] + [
        f"g{other.pk}" for other in wanted_groups
    ]
    cycle = prerequisite_cycle_find(graph)
    if cycle:
        steps = {int(k[1:]) for k in cycle if k.startswith("s")}
        groups = {int(k[1:]) for k in cycle if k.startswith("g")}
        titles = {
            **{
                f"s{pk}": t
                for pk, t in Step.objects.filter(pk__in=steps).values_list("pk", "title")
            },
            **{
                f"g{pk}": t
                for pk, t in ChoiceGroup.objects.filter(pk__in=groups).values_list("pk", "title")
            },
        }
        # A step being created has no title stored yet.
        titles.setdefault(f"s{step.pk}", step.title)
        names = " → ".join(f"“{titles[k]}”" for k in cycle)
        raise ApplicationError(
            f"These prerequisites would form a cycle: {names}.", extra={"field": "prerequisites"}
        )


# --- what changed: the history learners are told of and curators look back on ---------

#: The fields of a step whose change its learners hear about (not its position: a step
#: moves whenever another is added before it).
STEP_FIELDS_TOLD = {
    "title": "title",
    "description": "description",
    "estimated_minutes": "estimated time",
    "is_optional": "optional",
}


def _change(
    step: Step,
    kind: str,
    *,
    source: str,
    detail: str = "",
    at: datetime | None = None,
    still_exists: bool = True,
    by: Any = None,
) -> TrackChange:
    return TrackChange(
        changed_by=by if by is not None and by.is_authenticated else None,
        track_id=step.track_id,
        step_id=step.pk if still_exists else None,
        step_key=step.key,
        step_title=step.title[:200],
        kind=kind,
        detail=detail[:300],
        source=source,
        occurred_at=at or timezone.now(),
    )


def track_changes_record(*, changes: Iterable[TrackChange]) -> int:
    """Keep changes to tracks (one insert). Returns how many were kept."""
    rows = list(changes)
    if rows:
        TrackChange.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def step_saved_record(
    *,
    step: Step,
    created: bool,
    changed_fields: Iterable[str] = (),
    source: str = TrackChange.Source.ADMIN,
    by: Any = None,
) -> TrackChange | None:
    """Record a step a curator (``by``) added, or the fields they changed that learners
    see (a change of position alone is none). Returns the change kept, if any."""
    if created:
        change = _change(step, TrackChange.Kind.STEP_ADDED, source=source, by=by)
    else:
        told = [STEP_FIELDS_TOLD[name] for name in STEP_FIELDS_TOLD if name in changed_fields]
        if not told:
            return None
        change = _change(
            step, TrackChange.Kind.STEP_CHANGED, source=source, detail=", ".join(told), by=by
        )
    track_changes_record(changes=[change])
    return change


def _link_changes(
    step: Step,
    *,
    added: list[str],
    removed: list[str],
    source: str,
    at: datetime,
    by: Any = None,
) -> list[TrackChange]:
    """A resource removed and another added on the same step is one replaced."""
    kind = TrackChange.Kind
    changes = [
        _change(step, kind.RESOURCE_REPLACED, source=source, at=at, detail=f"{old} → {new}", by=by)
        for old, new in zip(removed, added, strict=False)
    ]
    kept = min(len(added), len(removed))
    changes += [
        _change(step, kind.RESOURCE_ADDED, source=source, at=at, detail=title, by=by)
        for title in added[kept:]
    ]
    changes += [
        _change(step, kind.RESOURCE_REMOVED, source=source, at=at, detail=title, by=by)
        for title in removed[kept:]
    ]
    return changes


@transaction.atomic
def step_links_changed_record(
    *,
    step: Step,
    added: Iterable[Resource],
    removed: Iterable[Resource],
    source: str = TrackChange.Source.ADMIN,
    by: Any = None,
) -> list[TrackChange]:
    """Record the resources a curator (``by``) added to a step or took off it."""
    changes = _link_changes(
        step,
        added=[r.title for r in added],
        removed=[r.title for r in removed],
        source=source,
        at=timezone.now(),
        by=by,
    )
    track_changes_record(changes=changes)
    return changes


# --- taking steps out of a track, and bringing them back ---------------------------------


def steps_with_learner_data(*, step_ids: Iterable[int]) -> set[int]:
    """The steps among ``step_ids`` that any learner has data on (progress, its events,
    or whatever else apps above content keep per step). 1 query.

    Those apps are found through the relations they declare to ``Step``, never imported:
    every relation from a model outside content counts, so a new kind of learner data is
    protected without changing this function.
    """
    ids = list(step_ids)
    if not ids:
        return set()
    held = Q()
    for relation in Step._meta.related_objects:
        if relation.related_model._meta.app_label == Step._meta.app_label:
            continue
        rows = relation.related_model._default_manager.filter(
            **{relation.field.name: OuterRef("pk")}
        )
        held |= Q(Exists(rows))
    if not held:
        return set()
    return set(Step.objects.filter(held, pk__in=ids).values_list("pk", flat=True))


@dataclass(frozen=True)
class StepRemoval:
    #: Steps learners have data on: retired (hidden, not counted, their progress kept).
    retired: list[int]
    #: Steps nobody had data on: deleted for good.
    deleted: list[int]


@transaction.atomic
def steps_remove(
    *, step_ids: Iterable[int], source: str = TrackChange.Source.ADMIN, by: Any = None
) -> StepRemoval:
    """Take steps out of their tracks without losing anyone's progress.

    A step any learner has progress on (or any other data) is *retired*: it disappears
    from its track and from completion, and its progress and events stay, ready for the
    day the step comes back (``steps_restore``, or a roadmap file with its key). Only a
    step nobody has data on is deleted. The roadmap loader and the admin both remove
    steps through here.

    The steps are locked first, so a learner marking one meanwhile either lands before
    the check (and the step is retired) or waits until it is gone.
    """
    ids = sorted(set(step_ids))
    locked = {
        step.pk: step
        for step in Step.objects.filter(pk__in=ids)
        .order_by("pk")
        .select_for_update()
        .only("pk", "track_id", "key", "title", "retired_at")
    }
    held = steps_with_learner_data(step_ids=list(locked))
    retire = [pk for pk, step in locked.items() if pk in held and step.retired_at is None]
    delete = [pk for pk in locked if pk not in held]
    now = timezone.now()
    if retire:
        Step.objects.filter(pk__in=retire).update(retired_at=now)
    if delete:
        Step.objects.filter(pk__in=delete).delete()
    if retire or delete:
        # A step already retired and now deleted had left its track before: not news.
        gone = [*retire, *(pk for pk in delete if locked[pk].retired_at is None)]
        track_changes_record(
            changes=[
                _change(
                    locked[pk],
                    TrackChange.Kind.STEP_RETIRED,
                    source=source,
                    at=now,
                    still_exists=pk in retire,
                    by=by,
                )
                for pk in gone
            ]
        )
        content_revision_bump()
    return StepRemoval(retired=retire, deleted=delete)


@transaction.atomic
def steps_restore(
    *, step_ids: Iterable[int], source: str = TrackChange.Source.ADMIN, by: Any = None
) -> int:
    """Bring retired steps back into their tracks, with every learner's progress on them.
    Returns how many came back."""
    retired = list(
        Step.objects.filter(pk__in=list(step_ids), retired_at__isnull=False)
        .order_by("pk")
        .select_for_update()
        .only("pk", "track_id", "key", "title")
    )
    restored = Step.objects.filter(pk__in=[step.pk for step in retired]).update(retired_at=None)
    if restored:
        track_changes_record(
            changes=[
                _change(s, TrackChange.Kind.STEP_RESTORED, source=source, by=by) for s in retired
            ]
        )
        content_revision_bump()
    return restored


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
    # Learners of the steps that use it are told their resource was replaced.
    now = timezone.now()
    track_changes_record(
        changes=[
            _change(
                step,
                TrackChange.Kind.RESOURCE_REPLACED,
                source=TrackChange.Source.ADMIN,
                at=now,
                detail=f"{resource.title}: now at {new_url}",
            )
            for step in Step.objects.current().filter(step_resources__resource=resource)
        ]
    )
    content_revision_bump()
    return resource


# --- loading roadmap files ------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    #: Steps only: taken out of the track with learners' progress kept, and brought back.
    retired: int = 0
    restored: int = 0

    def __str__(self) -> str:
        extra = [
            f"{count} {name}"
            for name, count in (
                ("restored", self.restored),
                ("retired (progress kept)", self.retired),
                ("removed", self.deleted),
            )
            if count
        ]
        counts = [f"{self.created} created", f"{self.updated} updated"]
        return ", ".join([*counts, f"{self.unchanged} unchanged", *extra])


@dataclass
class LoadReport:
    files: list[Path] = field(default_factory=list)
    tracks: Tally = field(default_factory=Tally)
    steps: Tally = field(default_factory=Tally)
    resources: Tally = field(default_factory=Tally)
    links: Tally = field(default_factory=Tally)
    groups: Tally = field(default_factory=Tally)
    #: Prerequisite edges (on steps and on groups): created and deleted only.
    prerequisites: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> bool:
        return any(
            t.created or t.updated or t.deleted or t.retired or t.restored
            for t in (
                self.tracks,
                self.steps,
                self.resources,
                self.links,
                self.groups,
                self.prerequisites,
            )
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


def _edges_sync(
    current: QuerySet[Any], fields: tuple[str, str], wanted: set[tuple[int, int]], tally: Tally
) -> None:
    """Make the many-to-many rows in ``current`` (a through table, as pairs of ``fields``)
    exactly ``wanted``, deleting and creating only the difference."""
    after, before = fields
    existing = set(current.values_list(after, before))
    if removed := existing - wanted:
        condition = Q()
        for one, other in removed:
            condition |= Q(**{after: one, before: other})
        current.filter(condition).delete()
        tally.deleted += len(removed)
    if added := wanted - existing:
        current.model.objects.bulk_create(
            [current.model(**{after: one, before: other}) for one, other in added]
        )
        tally.created += len(added)


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
    before_track = Track.objects.filter(slug=spec.slug).first()
    # What learners of an existing track are told changed (a new track has none yet).
    changes: list[TrackChange] = []
    now = timezone.now()
    source = TrackChange.Source.ROADMAP
    track = _upsert(
        Track,
        before_track,
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
    # Choice groups first: steps point at them.
    current_groups = {g.key: g for g in ChoiceGroup.objects.filter(track=track)}
    groups: dict[str, ChoiceGroup] = {}
    for group_spec in spec.groups:
        groups[group_spec.key] = _upsert(
            ChoiceGroup,
            current_groups.get(group_spec.key),
            {
                "track": track,
                "key": group_spec.key,
                "title": group_spec.title,
                "description": group_spec.description,
                "required": group_spec.choose,
            },
            report.groups,
        )
    group_of = {key: groups[g.key] for g in spec.groups for key in g.steps}

    existing = {s.key: s for s in Step.objects.filter(track=track)}
    steps: dict[str, Step] = {}
    for position, step_spec in enumerate(spec.steps, start=1):
        before = existing.get(step_spec.key)
        if before is not None and before.retired_at is not None:
            # Back in the file: the step returns, and with it everyone's progress on it.
            report.steps.restored += 1
        told_before = {name: getattr(before, name) for name in STEP_FIELDS_TOLD} if before else {}
        was_retired = before is not None and before.retired_at is not None
        steps[step_spec.key] = _upsert(
            Step,
            before,
            {
                "track": track,
                "key": step_spec.key,
                "position": position,
                "title": step_spec.title,
                "description": step_spec.description,
                "estimated_minutes": step_spec.minutes,
                "is_optional": step_spec.optional,
                "group": group_of.get(step_spec.key),
                "retired_at": None,
            },
            report.steps,
        )
        step = steps[step_spec.key]
        if before is None:
            changes.append(_change(step, TrackChange.Kind.STEP_ADDED, source=source, at=now))
        elif was_retired:
            changes.append(_change(step, TrackChange.Kind.STEP_RESTORED, source=source, at=now))
        elif told := [
            label
            for name, label in STEP_FIELDS_TOLD.items()
            if getattr(step, name) != told_before[name]
        ]:
            changes.append(
                _change(
                    step,
                    TrackChange.Kind.STEP_CHANGED,
                    source=source,
                    at=now,
                    detail=", ".join(told),
                )
            )
    gone = [s.pk for key, s in existing.items() if key not in steps and s.retired_at is None]
    if gone:
        # Steps dropped from the file leave the track; learners' progress on them stays.
        removal = steps_remove(step_ids=gone, source=source)
        report.steps.retired += len(removal.retired)
        report.steps.deleted += len(removal.deleted)
    if stale_groups := [g.pk for key, g in current_groups.items() if key not in groups]:
        ChoiceGroup.objects.filter(pk__in=stale_groups).delete()
        report.groups.deleted += len(stale_groups)

    # Prerequisites (on steps and on groups): diff the edge sets so an unchanged file
    # writes nothing.
    _edges_sync(
        StepPrerequisite.objects.filter(from_step__track=track),
        ("from_step_id", "to_step_id"),
        {(steps[s.key].pk, steps[p].pk) for s in spec.steps for p in s.prerequisites if p in steps},
        report.prerequisites,
    )
    _edges_sync(
        StepGroupPrerequisite.objects.filter(step__track=track),
        ("step_id", "choicegroup_id"),
        {
            (steps[s.key].pk, groups[p].pk)
            for s in spec.steps
            for p in s.prerequisites
            if p in groups
        },
        report.prerequisites,
    )

    # Links between steps and resources carry their own position and note.
    current = {
        (link.step_id, link.resource_id): link
        for link in StepResource.objects.filter(step__track=track).select_related("resource")
    }
    wanted: set[tuple[int, int]] = set()
    resources_by_pk = {resource.pk: resource for resource in resources.values()}
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

    if before_track is None:
        return
    # Resources added to and taken off the steps that stayed (a new step is news enough).
    new_steps = {c.step_id for c in changes if c.kind == TrackChange.Kind.STEP_ADDED}
    added: dict[int, list[str]] = {}
    removed: dict[int, list[str]] = {}
    for step_pk, resource_pk in sorted(wanted - set(current)):
        added.setdefault(step_pk, []).append(resources_by_pk[resource_pk].title)
    for (step_pk, _), link in sorted(current.items()):
        if (step_pk, link.resource_id) not in wanted:
            removed.setdefault(step_pk, []).append(link.resource.title)
    by_pk = {step.pk: step for step in steps.values()}
    for step_pk in sorted(set(added) | set(removed)):
        if step_pk in by_pk and step_pk not in new_steps:
            changes += _link_changes(
                by_pk[step_pk],
                added=added.get(step_pk, []),
                removed=removed.get(step_pk, []),
                source=source,
                at=now,
            )
    track_changes_record(changes=changes)


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


@transaction.atomic
def track_import(*, document: dict[str, Any], name: str) -> Track:
    """Create a new track from one roadmap document (as ``roadmaps_load`` reads from a
    file): the importer's reviewed draft, saved published or not.

    The same checks as a roadmap file, and the same writes: resources are matched by
    normalized URL (a stored one is reused, never duplicated), and the content revision
    moves. A slug already in use is refused: importing never changes an existing track.
    Raises ``RoadmapError`` listing every problem, ``ApplicationError`` for a slug in use;
    nothing is written then.
    """
    spec, problems = roadmap_data_parse(document, Path(name))
    merged, merge_problems = resources_merge([spec] if spec else [])
    problems = [*problems, *merge_problems]
    if problems or spec is None:
        raise RoadmapError(problems)
    if Track.objects.filter(slug=spec.slug).exists():
        raise ApplicationError(
            f"A track already uses the address {spec.slug!r}; choose another.",
            extra={"field": "slug"},
        )
    report = LoadReport()
    resources = _resources_save(merged, report)
    _track_save(spec, resources, report)
    content_revision_bump()
    return Track.objects.get(slug=spec.slug)
