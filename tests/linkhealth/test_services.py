"""Recording, damping, runs and chunks, reports, URL replacement: through the services."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.linkhealth import services
from apps.linkhealth.checker import CheckResult, Outcome
from apps.linkhealth.models import (
    BrokenLinkReport,
    LinkCheck,
    LinkCheckClaim,
    LinkCheckRun,
    ResourceHealth,
)
from apps.linkhealth.selectors import links_due, resource_health_for
from tests.factories import ResourceFactory, UserFactory
from tests.linkhealth.farm import Reply
from tests.linkhealth.recording_race import recordings_race

pytestmark = pytest.mark.django_db


def _run_over(resources) -> LinkCheckRun:
    run, _ = services.link_check_run_create(
        kind=LinkCheckRun.Kind.SCHEDULED, resource_ids=[r.pk for r in resources]
    )
    services.link_chunk_check(run_id=run.pk)
    return run


def _earlier(resource, hours: float) -> None:
    """Move a resource's recorded past back in time, as if the checks happened earlier."""
    ago = timedelta(hours=hours)
    state = ResourceHealth.objects.get(resource=resource)
    for name in ("first_broken_at", "last_checked_at", "last_ok_at", "health_changed_at"):
        if getattr(state, name):
            setattr(state, name, getattr(state, name) - ago)
    state.save()


def test_one_broken_check_does_not_raise_the_alarm(farm, link_settings):
    resource = ResourceFactory(url=farm.route("/gone", status=404))

    _run_over([resource])

    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.UNKNOWN
    assert state.last_outcome == Outcome.BROKEN
    assert state.consecutive_failures == 1
    check = LinkCheck.objects.get(resource=resource)
    assert (check.outcome, check.status_code, check.redirects) == ("broken", 404, 0)
    assert check.final_url == resource.url


def test_damping_two_runs_six_hours_apart_make_it_broken(farm, link_settings):
    resource = ResourceFactory(url=farm.route("/gone", status=404))
    _run_over([resource])

    # Given a second failure only an hour later: still not broken.
    _earlier(resource, hours=1)
    _run_over([resource])
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.UNKNOWN

    # When the first failure is more than six hours old: broken.
    _earlier(resource, hours=6)
    _run_over([resource])
    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.BROKEN
    assert state.consecutive_failures == 3
    assert resource_health_for([resource.pk]) == {resource.pk: "broken"}


def test_first_ok_clears_broken(farm, link_settings):
    resource = ResourceFactory(url=farm.route("/flaky", status=404))
    _run_over([resource])
    _earlier(resource, hours=7)
    _run_over([resource])
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.BROKEN

    farm.route("/flaky", status=200)
    _run_over([resource])

    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.OK
    assert state.consecutive_failures == 0
    assert state.last_ok_at == state.last_checked_at


def test_blocked_and_errors_never_make_a_link_broken(farm, link_settings):
    blocked = ResourceFactory(url=farm.route("/members", status=403))
    failing = ResourceFactory(url=farm.route("/boom", status=500))
    for _ in range(3):
        _run_over([blocked, failing])
        _earlier(blocked, hours=7)
        _earlier(failing, hours=7)

    assert resource_health_for([blocked.pk, failing.pk]) == {
        blocked.pk: "blocked",
        failing.pk: "error",
    }


def test_moved_keeps_the_suggested_url(farm, link_settings):
    farm.route("/new")
    resource = ResourceFactory(url=farm.route("/old", status=301, headers={"Location": "/new"}))

    _run_over([resource])

    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.MOVED
    assert state.suggested_url == farm.url("/new")


def test_moved_to_a_url_too_long_to_keep_suggests_nothing(farm, link_settings):
    farm.route("/new")
    long_target = "/new?ref=" + "x" * 600
    resource = ResourceFactory(
        url=farm.route("/old", status=301, headers={"Location": long_target})
    )

    _run_over([resource])

    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.MOVED  # still moved, but no half a URL to "use"
    assert state.suggested_url == ""
    assert state.last_detail.startswith("no suggested URL: the new one is")
    check = LinkCheck.objects.get(resource=resource)
    assert check.suggested_url == ""
    assert "more than the 500 kept" in check.error


def test_a_url_is_claimed_once_per_run(farm, link_settings, fake_dns):
    # Five links on three hosts (two, two and one): three chunks of at most two.
    hosts = ["a.farm.test", "a.farm.test", "b.farm.test", "b.farm.test", "c.farm.test"]
    for host in set(hosts):
        fake_dns[host] = "127.0.0.1"
    for n in range(5):
        farm.route(f"/p{n}")
    resources = [
        ResourceFactory(url=f"http://{host}:{farm.port}/p{n}") for n, host in enumerate(hosts)
    ]
    run, chunks = services.link_check_run_create(
        kind=LinkCheckRun.Kind.SCHEDULED, resource_ids=[r.pk for r in resources], chunk_size=2
    )

    assert chunks == [0, 1, 2]
    assert LinkCheckClaim.objects.filter(run=run).count() == 5
    for chunk in chunks:
        services.link_chunk_check(run_id=run.pk, chunk=chunk)
    # A duplicate delivery of every chunk finds nothing left to check.
    for chunk in chunks:
        assert services.link_chunk_check(run_id=run.pk, chunk=chunk) == []
    assert all(farm.hit_count(f"/p{n}") == 1 for n in range(5))
    assert LinkCheck.objects.filter(run=run).count() == 5


def test_no_host_is_split_over_two_chunks(link_settings):
    # Given hosts with 3, 2, 1 and 1 links and chunks of two
    links = {"a.example.org": 3, "b.example.org": 2, "c.example.org": 1, "d.example.org": 1}
    resources = [
        ResourceFactory(url=f"https://{host}/page-{n}")
        for host, count in links.items()
        for n in range(count)
    ]

    run, chunks = services.link_check_run_create(
        kind=LinkCheckRun.Kind.SCHEDULED, resource_ids=[r.pk for r in resources], chunk_size=2
    )

    # Then every host's links are in exactly one chunk (each chunk gets its own per-host
    # gate), and chunks holding more than one host stay within the chunk size.
    chunks_of_host: dict[str, set[int]] = {}
    hosts_of_chunk: dict[int, set[str]] = {}
    sizes: dict[int, int] = {}
    for url, chunk in LinkCheckClaim.objects.filter(run=run).values_list("url", "chunk"):
        host = url.split("/")[2]
        chunks_of_host.setdefault(host, set()).add(chunk)
        hosts_of_chunk.setdefault(chunk, set()).add(host)
        sizes[chunk] = sizes.get(chunk, 0) + 1
    assert sum(sizes.values()) == 7
    assert {host: len(found) for host, found in chunks_of_host.items()} == dict.fromkeys(links, 1)
    assert sorted(sizes) == chunks
    assert all(sizes[c] <= 2 for c, hosts in hosts_of_chunk.items() if len(hosts) > 1)
    assert chunks == [0, 1, 2]  # a alone (over the size); b; c and d together


def test_chunk_that_dies_is_retried_without_checking_a_link_twice(farm, link_settings, monkeypatch):
    resources = [ResourceFactory(url=farm.route(f"/p{n}")) for n in range(6)]
    run, _ = services.link_check_run_create(
        kind=LinkCheckRun.Kind.SCHEDULED, resource_ids=[r.pk for r in resources], chunk_size=6
    )
    link_settings.LINK_CHECK_RECORD_BATCH_SIZE = 1
    real_record = services._checks_record
    recorded = []

    def dies_on_the_third(**kwargs):
        if len(recorded) == 2:
            raise ConnectionError("worker lost its database")
        recorded.extend(result.url for _, _, result in kwargs["checked"])
        return real_record(**kwargs)

    monkeypatch.setattr(services, "_checks_record", dies_on_the_third)
    with pytest.raises(ConnectionError):
        services.link_chunk_check(run_id=run.pk, chunk=0)
    monkeypatch.setattr(services, "_checks_record", real_record)
    hits_after_death = {n: farm.hit_count(f"/p{n}") for n in range(6)}

    # The retry checks only what the dead attempt had not recorded.
    retried = services.link_chunk_check(run_id=run.pk, chunk=0)

    assert len(retried) == 4
    assert {r.url for r in retried}.isdisjoint(recorded)
    for n in range(6):
        checked_before = farm.url(f"/p{n}") in recorded
        assert farm.hit_count(f"/p{n}") == hits_after_death[n] + (0 if checked_before else 1)
    assert LinkCheck.objects.filter(run=run).count() == 6
    assert not LinkCheckClaim.objects.filter(run=run, checked_at__isnull=True).exists()


def test_due_links(farm, link_settings):
    now = timezone.now()
    never = ResourceFactory()
    fresh_ok, stale_ok, failing_today, failing_yesterday, reported = ResourceFactory.create_batch(5)
    for resource, outcome, hours in [
        (fresh_ok, "ok", 1),
        (stale_ok, "ok", 24 * 8),
        (failing_today, "broken", 2),
        (failing_yesterday, "error", 25),
        (reported, "ok", 1),
    ]:
        ResourceHealth.objects.create(
            resource=resource,
            last_outcome=outcome,
            last_checked_at=now - timedelta(hours=hours),
            recheck_requested_at=now if resource is reported else None,
        )

    due = set(links_due(now=now))

    assert due == {never, stale_ok, failing_yesterday, reported}


def test_links_in_an_open_run_are_not_due_again(link_settings):
    resource = ResourceFactory()
    services.link_check_run_create(kind=LinkCheckRun.Kind.SCHEDULED, resource_ids=[resource.pk])

    assert not links_due(now=timezone.now()).exists()


def test_report_is_once_per_learner_per_resource(
    farm, link_settings, learner, django_capture_on_commit_callbacks
):
    resource = ResourceFactory(url=farm.route("/gone", status=404))

    with django_capture_on_commit_callbacks(execute=True):
        services.broken_link_report_create(user=learner, resource_id=resource.pk)
    with pytest.raises(ApplicationError, match="already reported"):
        services.broken_link_report_create(user=learner, resource_id=resource.pk)

    assert BrokenLinkReport.objects.count() == 1
    # The report scheduled a prompt re-check (run inline: Celery is eager in tests).
    assert LinkCheck.objects.filter(resource=resource, run__kind="report").count() == 1


def test_reports_are_rate_limited(link_settings, learner, settings):
    settings.LINK_REPORT_RATE_LIMIT = 2
    first, second, third = ResourceFactory.create_batch(3)
    services.broken_link_report_create(user=learner, resource_id=first.pk)
    services.broken_link_report_create(user=learner, resource_id=second.pk)

    with pytest.raises(ApplicationError, match="many reports"):
        services.broken_link_report_create(user=learner, resource_id=third.pk)
    # Another learner is not held back.
    services.broken_link_report_create(user=UserFactory(), resource_id=third.pk)


def test_replacing_the_url_normalizes_and_starts_health_over(
    farm, link_settings, learner, django_capture_on_commit_callbacks
):
    farm.route("/new")
    resource = ResourceFactory(url=farm.route("/old", status=301, headers={"Location": "/new"}))
    _run_over([resource])
    BrokenLinkReport.objects.create(user=learner, resource=resource)

    with django_capture_on_commit_callbacks(execute=True):
        services.resource_url_replace(resource=resource, url=farm.url("/new/?utm_source=x"))

    resource.refresh_from_db()
    assert resource.url == farm.url("/new")
    state = ResourceHealth.objects.get(resource=resource)
    assert state.health == Outcome.OK  # re-checked at once (Celery eager)
    assert BrokenLinkReport.objects.get().resolved_at is not None


def test_replacing_with_a_url_another_resource_uses_is_refused(link_settings):
    taken = ResourceFactory(url="https://example.org/taken")
    resource = ResourceFactory()

    with pytest.raises(ApplicationError, match="Another resource"):
        services.resource_url_replace(resource=resource, url=taken.url + "/")


def test_recording_the_same_result_twice_in_a_run_does_not_double_claims(link_settings):
    resource = ResourceFactory()
    result = CheckResult(url=resource.url, outcome=Outcome.OK, status_code=200)
    run, _ = services.link_check_run_create(kind="manual", resource_ids=[resource.pk])

    services.resource_health_record(resource=resource, result=result, run=run)

    assert LinkCheckClaim.objects.get(run=run).checked_at is not None


def test_a_duplicate_delivery_of_the_hourly_task_opens_no_second_run(link_settings):
    ResourceFactory.create_batch(3)

    first = services.links_check_due_start()
    second = services.links_check_due_start()

    assert first is not None and first.total == 3
    assert second is None
    assert LinkCheckRun.objects.count() == 1


def _checked(resources, outcome=Outcome.OK):
    return [(r, CheckResult(url=r.url, outcome=outcome, status_code=200)) for r in resources]


def test_a_batch_of_checks_is_recorded_in_the_same_queries_as_one(
    link_settings, django_assert_num_queries
):
    one, many = ResourceFactory(), ResourceFactory.create_batch(50)
    run, _ = services.link_check_run_create(
        kind="manual", resource_ids=[r.pk for r in [one, *many]]
    )

    # savepoint; lock the claims and mark them; create missing health rows; lock them;
    # insert the checks and update the health rows; release the savepoint. (SQLite's ORM
    # path: marking the claims, and the checks and health rows, two statements each.)
    queries = 6 if connection.vendor == "postgresql" else 8
    with django_assert_num_queries(queries):
        services.link_checks_record(checked=_checked([one]), run=run)
    with django_assert_num_queries(queries):
        services.link_checks_record(checked=_checked(many), run=run)

    assert LinkCheck.objects.filter(run=run).count() == 51
    assert ResourceHealth.objects.filter(health=Outcome.OK).count() == 51
    assert not LinkCheckClaim.objects.filter(run=run, checked_at__isnull=True).exists()


def test_a_batch_recorded_again_in_the_same_run_changes_nothing(link_settings):
    resources = ResourceFactory.create_batch(3)
    run, _ = services.link_check_run_create(kind="manual", resource_ids=[r.pk for r in resources])
    services.link_checks_record(checked=_checked(resources[:2]), run=run)

    # A redelivered chunk brings the same two URLs (now broken) and the third one.
    again = services.link_checks_record(checked=_checked(resources, Outcome.BROKEN), run=run)

    assert [result.url for result in again] == [resources[2].url]
    assert LinkCheck.objects.filter(run=run).count() == 3
    outcomes = dict(LinkCheck.objects.values_list("resource_id", "outcome"))
    assert outcomes == {resources[0].pk: "ok", resources[1].pk: "ok", resources[2].pk: "broken"}
    assert ResourceHealth.objects.get(resource=resources[0]).consecutive_failures == 0


def test_the_database_keeps_one_check_per_url_per_run(link_settings):
    resource = ResourceFactory()
    run, _ = services.link_check_run_create(kind="manual", resource_ids=[resource.pk])
    fields = {"resource": resource, "run": run, "url": resource.url, "outcome": "ok"}
    LinkCheck.objects.create(checked_at=timezone.now(), **fields)

    with pytest.raises(IntegrityError), transaction.atomic():
        LinkCheck.objects.create(checked_at=timezone.now(), **fields)
    # Checks outside a run (none today) are not limited.
    LinkCheck.objects.create(checked_at=timezone.now(), **{**fields, "run": None})
    LinkCheck.objects.create(checked_at=timezone.now(), **{**fields, "run": None})


def test_a_host_asking_for_a_long_wait_is_checked_again_at_the_next_run(farm, link_settings):
    link_settings.LINK_CHECK_RETRY_AFTER_CAP_SECONDS = 5.0
    farm.route("/page", Reply(), Reply(status=503, headers={"Retry-After": "3600"}))
    resource = ResourceFactory(url=farm.url("/page"))
    _run_over([resource])
    healthy = ResourceHealth.objects.get(resource=resource)
    assert healthy.health == Outcome.OK
    _earlier(resource, hours=24 * 8)  # due again

    # When the host asks for an hour, the run records what it said and moves on ...
    run = _run_over([resource])

    check = LinkCheck.objects.get(run=run)
    assert (check.outcome, check.status_code) == ("error", 503)
    assert "checked again at the next run" in check.error
    # ... the link keeps its health (nothing was learnt), and the next run takes it.
    state = ResourceHealth.objects.get(resource=resource)
    assert (state.health, state.consecutive_failures) == (Outcome.OK, 0)
    assert state.recheck_requested_at is not None
    assert resource in links_due(now=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_recordings_of_the_same_urls_at_once_record_each_once(link_settings):
    # A chunk redelivered while its first delivery still runs: the second recording waits
    # for the first to commit, then skips what it recorded.
    resources = ResourceFactory.create_batch(15)
    run, _ = services.link_check_run_create(kind="manual", resource_ids=[r.pk for r in resources])

    recorded = recordings_race(run, resources[:10], resources[5:][::-1])

    assert recorded == {
        "first": sorted(r.url for r in resources[:10]),
        "second": sorted(r.url for r in resources[10:]),
        "waited": True,
    }
    assert LinkCheck.objects.filter(run=run).count() == 15
    assert LinkCheckClaim.objects.filter(run=run, checked_at__isnull=False).count() == 15
