"""What changed since you started: the changes curators made to the tracks a learner
follows, since their last visit to each (``TrackVisit``), read from content's history
(``TrackChange``)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.content.models import TrackChange
from apps.learning.models import TrackVisit
from apps.progress.models import Enrollment

Kind = TrackChange.Kind

#: How the summary words each kind: (noun, verb), in the order they are told.
_WORDING: list[tuple[str, str, str]] = [
    (Kind.STEP_ADDED, "step", "added"),
    (Kind.STEP_RETIRED, "step", "retired"),
    (Kind.STEP_RESTORED, "step", "back"),
    (Kind.STEP_CHANGED, "step", "changed"),
    (Kind.RESOURCE_ADDED, "resource", "added"),
    (Kind.RESOURCE_REMOVED, "resource", "removed"),
    (Kind.RESOURCE_REPLACED, "resource", "replaced"),
]


def changes_summary(counts: dict[str, int]) -> str:
    """ "2 steps added, 1 retired, 1 resource replaced": the noun once per kind of thing."""
    parts: list[str] = []
    named: set[str] = set()
    for kind, noun, verb in _WORDING:
        n = counts.get(kind, 0)
        if not n:
            continue
        if noun in named:
            parts.append(f"{n} {verb}")
        else:
            parts.append(f"{n} {noun}{'' if n == 1 else 's'} {verb}")
            named.add(noun)
    return ", ".join(parts)


@dataclass(frozen=True)
class ChangeItem:
    id: int
    kind: str
    kind_label: str
    step_key: str
    step_title: str
    detail: str
    occurred_at: datetime
    #: Whether the step is on the track now (a link to it then makes sense).
    step_current: bool


@dataclass(frozen=True)
class TrackChangelog:
    """What changed on one track since the learner's last visit."""

    track_id: int
    counts: dict[str, int] = field(default_factory=dict)
    #: The newest first, at most ``STEPWISE_CHANGELOG_ITEMS``.
    items: list[ChangeItem] = field(default_factory=list)
    #: The id of the newest change: seeing the changelog marks the track seen up to it.
    last_id: int = 0

    @property
    def summary(self) -> str:
        return changes_summary(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def more(self) -> int:
        """Changes counted but not listed."""
        return self.total - len(self.items)

    def __bool__(self) -> bool:
        return bool(self.counts)


def _unseen(user_id: int, track_ids: Iterable[int]) -> QuerySet[TrackChange]:
    """The changes to the learner's tracks after their last visit and after they started
    following each (a learner who never followed a track has none)."""
    seen = TrackVisit.objects.filter(user_id=user_id, track_id=OuterRef("track_id")).values(
        "seen_change_id"
    )[:1]
    started = Enrollment.objects.filter(user_id=user_id, track_id=OuterRef("track_id")).values(
        "started_at"
    )[:1]
    return (
        TrackChange.objects.filter(track_id__in=list(track_ids))
        .annotate(
            seen=Coalesce(Subquery(seen), Value(0)),
            started=Subquery(started),
        )
        .filter(id__gt=F("seen"), occurred_at__gt=F("started"))
    )


def track_changelog_for(*, user_id: int, track_id: int) -> TrackChangelog:
    """What changed on the track since the learner's last visit, listed: 1 query (the
    counts come from the rows; past ``STEPWISE_CHANGELOG_ITEMS`` rows the counts are
    read in one more query, only then)."""
    limit = settings.STEPWISE_CHANGELOG_ITEMS
    rows = list(
        _unseen(user_id, [track_id])
        .order_by("-id")
        .values_list(
            "id",
            "kind",
            "step_key",
            "step_title",
            "detail",
            "occurred_at",
            "step_id",
            "step__retired_at",
        )[: limit + 1]
    )
    if not rows:
        return TrackChangelog(track_id=track_id)
    labels = dict(Kind.choices)
    items = [
        ChangeItem(
            id=pk,
            kind=kind,
            kind_label=labels.get(kind, kind),
            step_key=key,
            step_title=title,
            detail=detail,
            occurred_at=at,
            step_current=step_id is not None and retired_at is None,
        )
        for pk, kind, key, title, detail, at, step_id, retired_at in rows
    ]
    if len(items) > limit:
        counts = dict(
            _unseen(user_id, [track_id])
            .order_by()
            .values("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        )
        items = items[:limit]
    else:
        counts = dict(Counter(item.kind for item in items))
    return TrackChangelog(track_id=track_id, counts=counts, items=items, last_id=rows[0][0])


def changelogs_for(*, user_id: int, track_ids: Iterable[int]) -> dict[int, TrackChangelog]:
    """Per track with changes since the learner's last visit, its counts (no items), for
    the dashboard: 1 query for all their tracks."""
    ids = list(track_ids)
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {}
    last: dict[int, int] = {}
    for track_id, kind, n, newest in (
        _unseen(user_id, ids)
        .order_by()
        .values("track_id", "kind")
        .annotate(n=Count("id"), newest=Max("id"))
        .values_list("track_id", "kind", "n", "newest")
    ):
        counts.setdefault(track_id, {})[kind] = n
        last[track_id] = max(last.get(track_id, 0), newest)
    return {
        track_id: TrackChangelog(track_id=track_id, counts=mine, last_id=last[track_id])
        for track_id, mine in counts.items()
    }


def track_changes_seen(*, user_id: int, track_id: int, up_to: int) -> None:
    """Mark the track seen by the learner up to change ``up_to``: 1 query, an upsert."""
    now = timezone.now()
    TrackVisit.objects.bulk_create(
        [TrackVisit(user_id=user_id, track_id=track_id, seen_change_id=up_to, seen_at=now)],
        update_conflicts=True,
        unique_fields=["user", "track"],
        update_fields=["seen_change_id", "seen_at"],
    )
