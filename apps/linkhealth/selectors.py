"""Reads of link health, each a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from apps.content.models import Resource
from apps.linkhealth.models import (
    BrokenLinkReport,
    LinkCheckClaim,
    LinkDigest,
    LinkDigestSubscription,
    ResourceHealth,
)
from apps.linkhealth.outcomes import HEALTH_CHOICES, Outcome


def resource_health_for(resource_ids: Iterable[int]) -> dict[int, str]:
    """Health of each given resource (``"unknown"`` when never checked), in one query."""
    ids = list(resource_ids)
    found = dict(
        ResourceHealth.objects.filter(resource_id__in=ids).values_list("resource_id", "health")
    )
    return {pk: found.get(pk, Outcome.UNKNOWN.value) for pk in ids}


def track_resource_health(*, track_id: int) -> dict[int, str]:
    """Health of the checked resources linked from the track's steps, by resource id (1
    query; a resource absent was never checked)."""
    return dict(
        ResourceHealth.objects.filter(resource__step_links__step__track_id=track_id)
        .values_list("resource_id", "health")
        .distinct()
    )


def links_due(*, now: datetime) -> QuerySet[Resource]:
    """Links to check now: never checked, ok and last checked long ago, failing and not today.

    A learner's report makes a link due at once. Links still waiting in an open run
    are left to it.
    """
    stale = now - timedelta(days=settings.LINK_CHECK_RECHECK_DAYS)
    failing_stale = now - timedelta(hours=settings.LINK_CHECK_FAILING_RECHECK_HOURS)
    failing = ~Q(health__last_outcome__in=["ok", "moved"])
    pending = LinkCheckClaim.objects.filter(
        resource=OuterRef("pk"),
        checked_at__isnull=True,
        run__created_at__gte=now - timedelta(days=1),
    )
    return (
        Resource.objects.filter(
            Q(health__isnull=True)
            | Q(health__last_checked_at__isnull=True)
            | Q(health__recheck_requested_at__isnull=False)
            | Q(health__last_checked_at__lt=stale)
            | (failing & Q(health__last_checked_at__lt=failing_stale))
        )
        .exclude(Exists(pending))
        .order_by("pk")
    )


def last_digest_at() -> datetime | None:
    return LinkDigest.objects.order_by("-sent_at").values_list("sent_at", flat=True).first()


def _newly_broken(since: datetime | None) -> QuerySet[ResourceHealth]:
    qs = ResourceHealth.objects.filter(health=Outcome.BROKEN).select_related("resource")
    if since is not None:
        qs = qs.filter(health_changed_at__gt=since)
    return qs.order_by("-health_changed_at")


def _moved(since: datetime | None = None) -> QuerySet[ResourceHealth]:
    qs = ResourceHealth.objects.filter(health=Outcome.MOVED).select_related("resource")
    if since is not None:
        qs = qs.filter(health_changed_at__gt=since)
    return qs.order_by("-health_changed_at")


@dataclass
class DigestContent:
    since: datetime | None
    newly_broken: list[ResourceHealth] = field(default_factory=list)
    moved: list[ResourceHealth] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)


def link_digest_content(*, now: datetime) -> DigestContent:
    since = last_digest_at()
    recipients = list(
        LinkDigestSubscription.objects.filter(
            is_active=True, user__is_staff=True, user__is_active=True
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return DigestContent(
        since=since,
        newly_broken=list(_newly_broken(since).filter(health_changed_at__lte=now)),
        moved=list(_moved(since).filter(health_changed_at__lte=now)),
        recipients=recipients,
    )


@dataclass
class Dashboard:
    counts: dict[str, int]
    total: int
    last_digest_at: datetime | None
    newly_broken: list[ResourceHealth]
    moved: list[ResourceHealth]
    blocked_hosts: list[Any]
    reports: list[Any]


def link_health_dashboard(*, limit: int = 200) -> Dashboard:
    """Everything the staff "Link health" page shows, in six queries whatever the data."""
    # 1. counts by health; resources never checked count as unknown
    healths = [value for value, _ in HEALTH_CHOICES]
    aggregates = Resource.objects.aggregate(
        total=Count("pk"),
        **{
            value: Count("pk", filter=Q(health__health=value))
            for value in healths
            if value != Outcome.UNKNOWN
        },
    )
    total = aggregates.pop("total")
    counts = {value: int(aggregates.get(value, 0)) for value in healths}
    counts[Outcome.UNKNOWN] = total - sum(counts.values())
    # 2. last digest
    since = last_digest_at()
    # 3. newly broken, 4. moved with suggestions
    newly_broken = list(_newly_broken(since)[:limit])
    moved = list(_moved()[:limit])
    # 5. blocked hosts
    blocked_hosts = list(
        ResourceHealth.objects.filter(health=Outcome.BLOCKED)
        .values("host")
        .annotate(links=Count("pk"))
        .order_by("-links", "host")[:limit]
    )
    # 6. open learner reports, one row per resource
    reports = list(
        BrokenLinkReport.objects.filter(resolved_at__isnull=True)
        .values("resource_id", "resource__title", "resource__url", "resource__health__health")
        .annotate(reports=Count("pk"))
        .order_by("-reports", "resource__title")[:limit]
    )
    return Dashboard(
        counts=counts,
        total=total,
        last_digest_at=since,
        newly_broken=newly_broken,
        moved=moved,
        blocked_hosts=blocked_hosts,
        reports=reports,
    )
