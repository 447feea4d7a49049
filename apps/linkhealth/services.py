"""State changes for link health. Tasks, the command, admin and views call these."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Resource
from apps.content.services import resource_url_set
from apps.core.errors import ApplicationError
from apps.core.mail import messages_send
from apps.core.outbox import outbox_enqueue
from apps.core.ratelimit import rate_limit_exceeded
from apps.linkhealth.checker import CheckerConfig, CheckResult, check_urls_in_batches
from apps.linkhealth.models import (
    BrokenLinkReport,
    LinkCheck,
    LinkCheckClaim,
    LinkCheckRun,
    LinkDigest,
    ResourceHealth,
)
from apps.linkhealth.outcomes import Outcome
from apps.linkhealth.selectors import link_digest_content, links_due

# --- recording one check ------------------------------------------------------------------


def _health_apply(state: _HealthState, result: CheckResult, now: datetime) -> None:
    """Damping: one bad answer never raises the alarm; the first good one clears it."""
    outcome = result.outcome
    spacing = timedelta(hours=settings.LINK_HEALTH_BROKEN_SPACING_HOURS)
    new = state.health
    if outcome in {Outcome.OK, Outcome.MOVED}:
        new = outcome
        state.last_ok_at = now
        state.consecutive_failures = 0
        state.broken_checks = 0
        state.first_broken_at = None
        state.suggested_url = result.suggested_url if outcome == Outcome.MOVED else ""
    elif outcome == Outcome.BROKEN:
        state.consecutive_failures += 1
        state.broken_checks += 1
        if state.first_broken_at is None:
            state.first_broken_at = now
        if (
            state.broken_checks >= settings.LINK_HEALTH_BROKEN_AFTER_CHECKS
            and now - state.first_broken_at >= spacing
        ):
            new = Outcome.BROKEN
    elif outcome == Outcome.BLOCKED:
        # "Could not verify" says nothing about whether the page is there.
        if state.health != Outcome.BROKEN:
            new = Outcome.BLOCKED
    else:  # error or refused: transient or unsafe, never "broken" by itself
        state.consecutive_failures += 1
        if state.health != Outcome.BROKEN:
            new = Outcome.ERROR
    if new != state.health:
        state.health = new
        state.health_changed_at = now


def _suggestion_within_limit(result: CheckResult) -> CheckResult:
    """Drop a suggested URL too long to keep: cut short, "use the new URL" would break it."""
    limit = ResourceHealth._meta.get_field("suggested_url").max_length or 0
    if len(result.suggested_url) <= limit:
        return result
    note = (
        f"no suggested URL: the new one is {len(result.suggested_url)} characters long, "
        f"more than the {limit} kept"
    )
    return dataclasses.replace(
        result, suggested_url="", detail=f"{note}; {result.detail}" if result.detail else note
    )


#: What a recorded check changes on a resource's health row.
_HEALTH_FIELDS = [
    "health",
    "health_changed_at",
    "last_ok_at",
    "consecutive_failures",
    "broken_checks",
    "first_broken_at",
    "suggested_url",
    "host",
    "last_outcome",
    "last_status_code",
    "last_detail",
    "last_checked_at",
    "recheck_requested_at",
]


@transaction.atomic
def resource_health_record(
    *,
    resource: Resource,
    result: CheckResult,
    run: LinkCheckRun | None = None,
    now: datetime | None = None,
) -> ResourceHealth:
    """Record one check of a resource's link and update its current health."""
    link_checks_record(checked=[(resource, result)], run=run, now=now)
    return ResourceHealth.objects.get(resource=resource)


@transaction.atomic
def link_checks_record(
    *,
    checked: Sequence[tuple[Resource, CheckResult]],
    run: LinkCheckRun | None = None,
    now: datetime | None = None,
) -> list[CheckResult]:
    """Record a batch of checks and update each resource's health, in a fixed few queries.

    Within a run a URL is recorded once: its claim row is locked first, and a URL whose
    claim is already marked checked (by a duplicate delivery of the chunk, running
    alongside or before a worker was killed) is skipped; the database's one-check-per-URL-
    per-run constraint backs this up. Returns the results recorded.
    """
    return _checks_record(
        checked=[(resource.pk, resource.url, result) for resource, result in checked],
        run=run,
        now=now,
    )


def _checks_record(
    *,
    checked: Sequence[tuple[int, str, CheckResult]],
    run: LinkCheckRun | None,
    now: datetime | None,
) -> list[CheckResult]:
    """``link_checks_record`` over (resource id, resource URL, result), in a transaction.

    On PostgreSQL the rows are written with hand-written SQL fed one JSON document per
    statement, four statements a batch: ``bulk_create`` prepared every value of every row in
    Python (about 0.1 ms a row for the checks and the health upsert), and model instances
    for the health rows cost as much again; that was most of a worker's recording CPU.
    SQLite (the zero-setup default) has neither ``unnest`` nor ``jsonb_to_recordset``: the
    ORM writes the same rows there.
    """
    now = now or timezone.now()
    postgresql = connection.vendor == "postgresql"
    if run is not None and checked:
        done = _claims_take(run, [result.url for _, _, result in checked], now, postgresql)
        checked = [item for item in checked if item[2].url not in done]
    if not checked:
        return []
    checked = [(pk, url, _suggestion_within_limit(result)) for pk, url, result in checked]
    ids = sorted({pk for pk, _, _ in checked})
    _health_rows_ensure(ids, postgresql)
    states = {
        row[0]: _HealthState(*row)
        for row in ResourceHealth.objects.select_for_update()
        .filter(resource_id__in=ids)
        .order_by("resource_id")
        .values_list("resource_id", *_HEALTH_FIELDS)
    }
    # Keyed by field (and column), as _checks_insert_sql reads them.
    checks = [
        {
            "resource_id": pk,
            "url": result.url,
            "outcome": str(result.outcome),
            "status_code": result.status_code,
            "final_url": result.final_url[:2000],
            "redirects": result.redirects,
            "chain": result.chain,
            "elapsed_ms": result.elapsed_ms,
            "error": result.detail,
            "suggested_url": result.suggested_url,
        }
        for pk, _, result in checked
    ]
    for pk, url, result in checked:
        state = states[pk]
        if result.retry_after is None:
            _health_apply(state, result, now)
            state.recheck_requested_at = None
        else:
            # The host asked for a longer wait than the checker gives: nothing was learnt
            # about the link, so its health stays; it is due again at the next run.
            state.recheck_requested_at = now
        state.host = (urlsplit(url).hostname or "")[:255]
        state.last_outcome = str(result.outcome)
        state.last_status_code = result.status_code
        state.last_detail = result.detail[:500]
        state.last_checked_at = now
    _rows_write(run, now, checks, list(states.values()), postgresql)
    return [result for _, _, result in checked]


def _claims_take(run: LinkCheckRun, urls: list[str], now: datetime, postgresql: bool) -> set[str]:
    """Lock the run's claims of these URLs (a duplicate recording them right now waits,
    then sees them marked) and mark those not yet checked, in this transaction (a failure
    further on unmarks them); return the URLs that already were."""
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(_claims_mark_sql(), [run.pk, urls, now])
            return {url for (url,) in cursor.fetchall()}
    claims = list(
        LinkCheckClaim.objects.select_for_update()
        .filter(run=run, url__in=urls)
        .order_by("pk")
        .values_list("url", "checked_at")
    )
    LinkCheckClaim.objects.filter(run=run, url__in=urls, checked_at__isnull=True).update(
        checked_at=now
    )
    return {url for url, checked_at in claims if checked_at is not None}


def _health_rows_ensure(ids: list[int], postgresql: bool) -> None:
    """A health row, with the model's defaults, for each resource that has none yet."""
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute(_health_rows_create_sql(), [*_HEALTH_DEFAULTS.values(), ids])
    else:
        ResourceHealth.objects.bulk_create(
            [ResourceHealth(resource_id=pk) for pk in ids], ignore_conflicts=True
        )


def _rows_write(
    run: LinkCheckRun | None,
    now: datetime,
    checks: list[dict[str, Any]],
    states: list[_HealthState],
    postgresql: bool,
) -> None:
    """Insert the check rows and write the health rows back (known to exist, locked)."""
    if postgresql:
        healths = [{"resource_id": state.resource_id, **state.values()} for state in states]
        with connection.cursor() as cursor:
            # One UPDATE ... FROM, where bulk_update would build a CASE per field and row
            # (seconds of CPU for a few thousand).
            cursor.execute(
                _checks_insert_and_health_update_sql(),
                [run.pk if run else None, now.isoformat(), _json(checks), _json(healths)],
            )
    else:
        LinkCheck.objects.bulk_create(
            LinkCheck(run=run, checked_at=now, **check) for check in checks
        )
        ResourceHealth.objects.bulk_update(
            [ResourceHealth(resource_id=state.resource_id, **state.values()) for state in states],
            _HEALTH_FIELDS,
        )


class _HealthState:
    """A resource's health row, as much of it as a check reads and changes (a model
    instance per row cost its recording as much as the rest of the Python)."""

    __slots__ = ("resource_id", *_HEALTH_FIELDS)

    resource_id: int
    health: str
    health_changed_at: datetime | None
    last_ok_at: datetime | None
    consecutive_failures: int
    broken_checks: int
    first_broken_at: datetime | None
    suggested_url: str
    host: str
    last_outcome: str
    last_status_code: int | None
    last_detail: str
    last_checked_at: datetime | None
    recheck_requested_at: datetime | None

    def __init__(self, resource_id: int, *values: Any) -> None:
        self.resource_id = resource_id
        for name, value in zip(_HEALTH_FIELDS, values, strict=True):
            setattr(self, name, value)

    def values(self) -> dict[str, Any]:
        """The fields a check changes, by name."""
        return {name: getattr(self, name) for name in _HEALTH_FIELDS}


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # an Outcome (a str enum) or the like


#: A new health row's values: the model's defaults, read once.
_HEALTH_DEFAULTS: dict[str, Any] = {
    str(f.column): str(f.get_default()) if isinstance(f.get_default(), str) else f.get_default()
    for f in ResourceHealth._meta.concrete_fields
    if not f.primary_key and not f.null
}
_SQL_TYPES = {
    "CharField": "text",
    "URLField": "text",
    "TextField": "text",
    "PositiveIntegerField": "bigint",
    "IntegerField": "bigint",
    "DateTimeField": "timestamptz",
    "JSONField": "jsonb",
    "ForeignKey": "bigint",
    "OneToOneField": "bigint",
}


def _columns(model: type[Model], names: Iterable[str]) -> list[tuple[str, str]]:
    """Each field's column and its SQL type, for ``jsonb_to_recordset``."""
    found = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, Field)  # noqa: S101 (a field, not a relation's other end)
        found.append((str(field.column), _SQL_TYPES[field.get_internal_type()]))
    return found


#: A check's values read from the batch's JSON (the run and the time are one for all).
_CHECK_FIELDS = [
    "resource",
    "url",
    "outcome",
    "status_code",
    "final_url",
    "redirects",
    "chain",
    "elapsed_ms",
    "error",
    "suggested_url",
]


@functools.cache
def _health_rows_create_sql() -> str:
    table = ResourceHealth._meta.db_table
    columns = ", ".join(_HEALTH_DEFAULTS)
    values = ", ".join(["%s"] * len(_HEALTH_DEFAULTS))
    return (
        f"INSERT INTO {table} (resource_id, {columns}) "  # noqa: S608 (names from the model)
        f"SELECT id, {values} FROM unnest(%s::bigint[]) AS id "
        "ON CONFLICT (resource_id) DO NOTHING"
    )


@functools.cache
def _checks_insert_sql() -> str:
    columns = _columns(LinkCheck, _CHECK_FIELDS)
    (run, _), (checked_at, _) = _columns(LinkCheck, ["run", "checked_at"])
    names = ", ".join(c for c, _ in columns)
    return (
        f"INSERT INTO {LinkCheck._meta.db_table} ({run}, {checked_at}, {names}) "  # noqa: S608
        f"SELECT %s, %s::timestamptz, {', '.join('x.' + c for c, _ in columns)} "
        "FROM jsonb_to_recordset(%s::jsonb) AS x(" + ", ".join(f"{c} {t}" for c, t in columns) + ")"
    )


@functools.cache
def _claims_mark_sql() -> str:
    """The run's claims of the batch's URLs, locked in id order, those not yet checked
    marked checked; answers the URLs that already were."""
    table = LinkCheckClaim._meta.db_table
    return (
        f"WITH locked AS (SELECT id, url, checked_at FROM {table} "  # noqa: S608 (the model's)
        "WHERE run_id = %s AND url = ANY(%s) ORDER BY id FOR UPDATE), "
        f"marked AS (UPDATE {table} AS c SET checked_at = %s FROM locked "
        "WHERE c.id = locked.id AND locked.checked_at IS NULL) "
        "SELECT url FROM locked WHERE checked_at IS NOT NULL"
    )


@functools.cache
def _checks_insert_and_health_update_sql() -> str:
    """The batch's check rows inserted and its health rows updated, in one statement."""
    return f"WITH checks AS ({_checks_insert_sql()}) {_health_update_sql()}"


@functools.cache
def _health_update_sql() -> str:
    columns = _columns(ResourceHealth, ["resource", *_HEALTH_FIELDS])
    return (
        f"UPDATE {ResourceHealth._meta.db_table} AS h SET "  # noqa: S608 (the model's names)
        + ", ".join(f"{c} = x.{c}" for c, _ in columns[1:])
        + " FROM jsonb_to_recordset(%s::jsonb) AS x("
        + ", ".join(f"{c} {t}" for c, t in columns)
        + f") WHERE h.{columns[0][0]} = x.{columns[0][0]}"
    )


# --- runs and chunks -----------------------------------------------------------------------


@transaction.atomic
def link_check_run_create(
    *, kind: str, resource_ids: Iterable[int], chunk_size: int | None = None
) -> tuple[LinkCheckRun, list[int]]:
    """Open a run over the given resources, split into chunks; return the run and chunk numbers.

    Each URL gets one claim row (unique per run), so however the chunks are retried
    or redelivered, a URL is checked at most once in the run.
    """
    return _run_open(kind=kind, resource_ids=resource_ids, chunk_size=chunk_size)


def _run_open(
    *,
    kind: str,
    resource_ids: Iterable[int],
    chunk_size: int | None = None,
    run: LinkCheckRun | None = None,
) -> tuple[LinkCheckRun, list[int]]:
    size = max(1, chunk_size or settings.LINK_CHECK_CHUNK_SIZE)
    resources = list(Resource.objects.filter(pk__in=list(resource_ids)))
    if run is None:
        run = LinkCheckRun.objects.create(kind=kind, total=len(resources))
    else:
        run.total = len(resources)
        run.save(update_fields=["total"])
    chunks = _chunks_by_host(resources, size)
    LinkCheckClaim.objects.bulk_create(
        [
            LinkCheckClaim(run=run, url=r.url, resource=r, chunk=number)
            for number, chunk in enumerate(chunks)
            for r in chunk
        ],
        ignore_conflicts=True,
    )
    return run, list(range(len(chunks)))


def _chunks_by_host(resources: list[Resource], size: int) -> list[list[Resource]]:
    """Split resources into chunks of at most ``size``, never splitting one host's links.

    Each chunk runs in its own task with its own per-host gate, so a host spread over
    two chunks would get twice the per-host cap and no minimum interval. A host with
    more than ``size`` links gets a chunk of its own; smaller hosts are packed together,
    largest first, into the emptiest chunk they still fit in.
    """
    by_host: dict[str, list[Resource]] = {}
    for resource in sorted(resources, key=lambda r: r.pk):
        by_host.setdefault((urlsplit(resource.url).hostname or "").lower(), []).append(resource)
    chunks: list[list[Resource]] = []
    open_chunks: list[list[Resource]] = []  # chunks with room left
    for host in sorted(by_host, key=lambda h: (-len(by_host[h]), h)):
        links = by_host[host]
        fitting = [c for c in open_chunks if len(c) + len(links) <= size]
        if fitting:
            chunk = min(fitting, key=len)
            chunk.extend(links)
        else:
            chunk = list(links)
            chunks.append(chunk)
            open_chunks.append(chunk)
        if len(chunk) >= size:
            open_chunks.remove(chunk)
    return chunks


def link_chunk_check(
    *,
    run_id: int,
    chunk: int | None = None,
    config: CheckerConfig | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    collect: bool = True,
) -> list[CheckResult]:
    """Check the not-yet-checked URLs of one chunk of a run (all chunks when ``chunk`` is None).

    Results are recorded in small batches as they arrive (at most
    ``LINK_CHECK_RECORD_BATCH_SIZE`` results or ``LINK_CHECK_RECORD_BATCH_SECONDS`` old),
    each with its claim, so a chunk that dies half-way and is retried checks only what it
    had not recorded, and records each URL once. Returns the results recorded, or nothing
    when ``collect`` is false (a worker keeps no result once it is recorded).
    Not atomic on purpose: every recorded check must survive a later failure.
    """
    run = LinkCheckRun.objects.get(pk=run_id)
    claims = LinkCheckClaim.objects.filter(run=run, checked_at__isnull=True)
    if chunk is not None:
        claims = claims.filter(chunk=chunk)
    # The claim's URL and its resource's id and current URL: no Resource rows are built.
    by_url = {
        url: (pk, current)
        for url, pk, current in claims.values_list("url", "resource_id", "resource__url")
    }
    results: list[CheckResult] = []
    if not by_url:
        return results
    batches = check_urls_in_batches(
        list(by_url),
        config,
        size=settings.LINK_CHECK_RECORD_BATCH_SIZE,
        seconds=settings.LINK_CHECK_RECORD_BATCH_SECONDS,
    )
    for batch in batches:
        with transaction.atomic():
            recorded = _checks_record(
                checked=[(*by_url[result.url], result) for result in batch], run=run, now=None
            )
        if collect:
            results.extend(recorded)
        if on_result is not None:
            for result in recorded:
                on_result(result)
    return results


def _chunks_enqueue(run: LinkCheckRun, chunks: list[int]) -> None:
    """Hand the chunks to the workers once the caller commits, through the outbox: a broker
    outage delays the checks instead of failing the caller (a learner's report included)."""
    from apps.linkhealth.tasks import links_check_chunk

    for chunk in chunks:
        outbox_enqueue(links_check_chunk, args=(run.pk, chunk))


@transaction.atomic
def links_check_due_start(*, now: datetime | None = None) -> LinkCheckRun | None:
    """Open this hour's run over the due links and hand its chunks to the workers.

    A second delivery of the same hour's task (even one running at the same moment)
    finds the hour's run taken and does nothing.
    """
    now = now or timezone.now()
    slot = now.replace(minute=0, second=0, microsecond=0)
    try:
        with transaction.atomic():
            run = LinkCheckRun.objects.create(kind=LinkCheckRun.Kind.SCHEDULED, slot=slot)
    except IntegrityError:
        return None
    ids = list(links_due(now=now).values_list("pk", flat=True))
    if not ids:
        return run
    run, chunks = _run_open(kind=run.kind, resource_ids=ids, run=run)
    _chunks_enqueue(run, chunks)
    return run


@transaction.atomic
def links_check_enqueue(*, resource_ids: Iterable[int], kind: str) -> LinkCheckRun:
    """Check these resources soon (through Celery; inline when Celery is eager)."""
    return _enqueue(resource_ids=resource_ids, kind=kind)


def _enqueue(*, resource_ids: Iterable[int], kind: str) -> LinkCheckRun:
    run, chunks = _run_open(kind=kind, resource_ids=resource_ids)
    _chunks_enqueue(run, chunks)
    return run


# --- curators ------------------------------------------------------------------------------


@transaction.atomic
def resource_url_replace(*, resource: Resource, url: str) -> Resource:
    """Point a resource at a new URL (normalized, validated); its health starts over.

    Content's service changes the URL and moves the content revision with it.
    """
    resource = resource_url_set(resource=resource, url=url)
    new_url = resource.url
    ResourceHealth.objects.update_or_create(
        resource=resource,
        defaults={
            "health": Outcome.UNKNOWN,
            "health_changed_at": timezone.now(),
            "suggested_url": "",
            "consecutive_failures": 0,
            "broken_checks": 0,
            "first_broken_at": None,
            "host": (urlsplit(new_url).hostname or "")[:255],
        },
    )
    BrokenLinkReport.objects.filter(resource=resource, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    _enqueue(resource_ids=[resource.pk], kind=LinkCheckRun.Kind.MANUAL)
    return resource


# --- learners -------------------------------------------------------------------------------


@transaction.atomic
def broken_link_report_create(*, user: User, resource_id: int) -> BrokenLinkReport:
    """A learner reports a broken link: once per resource, rate-limited; re-check soon."""
    resource = Resource.objects.filter(pk=resource_id).first()
    if resource is None:
        raise ApplicationError("That resource does not exist.")
    if BrokenLinkReport.objects.filter(user=user, resource=resource).exists():
        raise ApplicationError("You already reported this link. Thank you!")
    if rate_limit_exceeded(
        key=f"link-report:{user.pk}",
        limit=settings.LINK_REPORT_RATE_LIMIT,
        window_seconds=settings.LINK_REPORT_RATE_WINDOW_MINUTES * 60,
    ):
        raise ApplicationError(
            "You have sent many reports recently; please try again later.",
            extra={"limit": settings.LINK_REPORT_RATE_LIMIT},
        )
    try:
        with transaction.atomic():
            report = BrokenLinkReport.objects.create(user=user, resource=resource)
    except IntegrityError as exc:  # a double click racing the check above
        raise ApplicationError("You already reported this link. Thank you!") from exc
    now = timezone.now()
    if not ResourceHealth.objects.filter(resource=resource).update(recheck_requested_at=now):
        ResourceHealth.objects.create(resource=resource, recheck_requested_at=now)
    _enqueue(resource_ids=[resource.pk], kind=LinkCheckRun.Kind.REPORT)
    return report


# --- the digest -------------------------------------------------------------------------------


@transaction.atomic
def link_digest_send(*, now: datetime | None = None) -> LinkDigest | None:
    """Email opted-in staff the links newly broken or moved since the last digest.

    Claims the day's digest row first and sends once the claim is committed, so a
    second run for the same day (a duplicate delivery, a retry after a partial SMTP
    failure) sends nothing. Sends nothing (and records nothing) when nothing is new
    or nobody opted in. Returns the claimed digest, or None.
    """
    now = now or timezone.now()
    content = link_digest_content(now=now)
    if not (content.newly_broken or content.moved) or not content.recipients:
        return None
    digest, created = LinkDigest.objects.get_or_create(
        day=timezone.localdate(now),
        defaults={
            "sent_at": now,
            "broken_count": len(content.newly_broken),
            "moved_count": len(content.moved),
            "recipients": len(content.recipients),
        },
    )
    if not created:
        return None
    context = {"digest": content, "site_url": settings.SITE_URL}
    subject = (
        f"[Stepwise] Link health: {len(content.newly_broken)} newly broken, "
        f"{len(content.moved)} moved"
    )
    text = render_to_string("linkhealth/email/digest.txt", context)
    html = render_to_string("linkhealth/email/digest.html", context)
    messages = []
    for email in content.recipients:
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    transaction.on_commit(lambda: _digest_deliver(digest=digest, messages=messages))
    return digest


def _digest_deliver(*, digest: LinkDigest, messages: list[EmailMultiAlternatives]) -> None:
    """Send each message on its own; record who got it and why the others did not.

    A failed recipient is not retried: the day is claimed, and sending again could
    only repeat the emails that did go out.
    """
    results = messages_send(messages)
    failures = [
        {"to": ", ".join(message.to), "error": repr(error)[:500]}
        for message, error in results
        if error is not None
    ]
    delivered = len(results) - len(failures)
    LinkDigest.objects.filter(pk=digest.pk).update(delivered=delivered, failures=failures)
