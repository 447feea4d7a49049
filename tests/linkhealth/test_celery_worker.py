"""A scheduled run through a real Redis broker and a Celery worker subprocess."""

import os
import signal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import OutboxMessage
from apps.core.outbox import outbox_relay
from apps.linkhealth.models import (
    BrokenLinkReport,
    LinkCheck,
    LinkCheckClaim,
    LinkCheckRun,
    ResourceHealth,
)
from apps.linkhealth.outcomes import Outcome
from apps.linkhealth.services import link_check_run_create
from tests.broker import publishing_to, within
from tests.celery_worker import celery_worker
from tests.factories import ResourceFactory
from tests.linkhealth.farm import Farm, Reply
from tests.linkhealth.workers import children
from tests.production import own_redis

CHUNK = "apps.linkhealth.tasks.links_check_chunk"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_due_links_fan_out_in_chunks_to_a_worker_through_redis(farm, worker_redis_db):
    # Three hosts (three loopback addresses, one farm each), two links each: a host's
    # links stay in one chunk, so three chunks of two.
    farms = [farm, Farm(host="127.0.0.2").start(), Farm(host="127.0.0.3").start()]
    paths = [f"/page{n}" for n in range(5)] + ["/gone"]
    for index, path in enumerate(paths):
        farms[index // 2].route(path, status=404 if path == "/gone" else 200)
    resources = [
        ResourceFactory(url=farms[index // 2].url(path)) for index, path in enumerate(paths)
    ]

    env = {
        "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.0/29",
        "LINK_CHECK_CHUNK_SIZE": "2",
        "LINK_CHECK_TIMEOUT_SECONDS": "2",
    }
    try:
        with celery_worker(
            redis_db=worker_redis_db, env=env, pool="threads", concurrency=2
        ) as worker:
            # What beat sends every hour; twice, as a duplicate delivery would.
            worker.sender.send_task("apps.linkhealth.tasks.links_check_due")
            worker.sender.send_task("apps.linkhealth.tasks.links_check_due")
            worker.wait_until(lambda: LinkCheck.objects.count() >= len(paths))
    finally:
        for other in farms[1:]:
            other.stop()

    log = worker.log
    assert LinkCheck.objects.count() == len(paths), log
    hits = [farms[index // 2].hit_count(path) for index, path in enumerate(paths)]
    assert hits == [1] * len(paths), log
    run = LinkCheckRun.objects.get()  # the second delivery found the hour taken
    assert run.kind == "scheduled"
    chunks = set(LinkCheckClaim.objects.filter(run=run).values_list("chunk", flat=True))
    assert chunks == {0, 1, 2}
    assert not LinkCheckClaim.objects.filter(checked_at__isnull=True).exists()
    gone = ResourceHealth.objects.get(resource=resources[-1])
    assert (gone.last_outcome, gone.health) == ("broken", Outcome.UNKNOWN)
    assert ResourceHealth.objects.filter(health=Outcome.OK).count() == 5


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_report_made_while_the_broker_is_down_is_checked_once_it_is_back(
    client, learner, farm, worker_redis_db
):
    path = "/reported"
    farm.route(path)
    resource = ResourceFactory(url=farm.url(path))
    client.force_login(learner)
    report = reverse("linkhealth:report", args=[resource.pk])

    with own_redis() as redis, publishing_to(redis.url):
        # Given the broker down, the learner's report is thanked as usual, at once.
        redis.stop()
        response = within(5, lambda: client.post(report, {"next": "/tracks/x/"}))
        assert response.status_code == 302
        assert BrokenLinkReport.objects.filter(user=learner, resource=resource).exists()
        assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 1

        # When the broker is back, the relay hands the re-check to a worker.
        redis.start()
        env = {"REDIS_URL": redis.url, "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32"}
        with celery_worker(redis_db=worker_redis_db, env=env) as worker:
            OutboxMessage.objects.update(available_at=timezone.now())  # the backoff is over
            assert outbox_relay().sent == 1
            worker.wait_until(lambda: LinkCheck.objects.exists())

    # Then the link is checked, once.
    assert LinkCheck.objects.filter(resource=resource).count() == 1, worker.log
    assert farm.hit_count(path) == 1
    health = ResourceHealth.objects.get(resource=resource)
    assert (health.health, health.recheck_requested_at) == (Outcome.OK, None)
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_worker_process_is_killed_is_redelivered_and_checked_once(
    farm, worker_redis_db
):
    path = "/slow"
    # The first answer comes too late for the worker process (killed meanwhile), the next at once.
    farm.route(path, Reply(delay=10), Reply())
    resource = ResourceFactory(url=farm.url(path))
    run, chunks = link_check_run_create(kind="manual", resource_ids=[resource.pk])
    env = {"LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32", "LINK_CHECK_TIMEOUT_SECONDS": "30"}

    with celery_worker(redis_db=worker_redis_db, env=env, pool="prefork", concurrency=1) as worker:
        worker.sender.send_task(CHUNK, args=[run.pk, chunks[0]])
        worker.wait_until(lambda: farm.hit_count(path) == 1)  # the check is under way
        (process,) = children(worker.process.pid)
        os.kill(process, signal.SIGKILL)
        worker.wait_until(lambda: LinkCheck.objects.exists(), seconds=30)

    # The message came back (acks_late, reject_on_worker_lost) and the link was checked once.
    assert "SIGKILL" in worker.log
    assert LinkCheck.objects.filter(resource=resource).count() == 1, worker.log
    assert farm.hit_count(path) == 2, worker.log
    assert LinkCheckClaim.objects.get(run=run).checked_at is not None
    assert ResourceHealth.objects.get(resource=resource).health == Outcome.OK
