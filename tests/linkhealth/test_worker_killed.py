"""A Celery worker killed with ``kill -9`` in the middle of a chunk of link checks, then
restarted: the chunk is done again from where it stopped, and every link ends with exactly
one result in the run. A real worker (prefork) through a real Redis broker, real HTTP."""

import pytest
from django.db.models import Count

from apps.linkhealth.models import LinkCheck, LinkCheckClaim
from apps.linkhealth.services import link_check_run_create
from tests.celery_worker import celery_worker
from tests.factories import ResourceFactory
from tests.linkhealth.farm import Reply
from tests.linkhealth.workers import worker_kill_9

LINKS = 40
PER_HOST = 2
BATCH = 4
KILL_AFTER = 10  # results recorded before the kill
CHUNK = "apps.linkhealth.tasks.links_check_chunk"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_loses_no_link_result_and_records_none_twice(
    farm, worker_redis_db
):
    # Forty links on one host, two at a time, each answered after 0.25 s: a 5 s chunk.
    paths = [f"/page{n}" for n in range(LINKS)]
    for path in paths:
        farm.route(path, Reply(delay=0.25))
    resources = [ResourceFactory(url=farm.url(path)) for path in paths]
    run, chunks = link_check_run_create(kind="manual", resource_ids=[r.pk for r in resources])
    assert chunks == [0]
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.linkhealth.worker_settings",
        "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "LINK_CHECK_PER_HOST": str(PER_HOST),
        "LINK_CHECK_RECORD_BATCH_SIZE": str(BATCH),
        "LINK_CHECK_RECORD_BATCH_SECONDS": "0.2",
    }
    checks = LinkCheck.objects.filter(run=run)

    # Given the chunk on a worker that is killed with `kill -9` (main and pool process)
    # once some of its results are recorded.
    with celery_worker(redis_db=worker_redis_db, env=env, pool="prefork", concurrency=1) as first:
        first.sender.send_task(CHUNK, args=[run.pk, chunks[0]])
        first.wait_until(lambda: checks.count() >= KILL_AFTER, seconds=120)
        worker_kill_9(first)
    recorded_before = set(checks.values_list("url", flat=True))
    hits_before = {path: farm.hit_count(path) for path in paths}
    assert KILL_AFTER <= len(recorded_before) < LINKS, first.log  # killed mid-chunk

    # When a worker starts again (the broker hands the lost task out after 10 s), on the
    # queue as the killed one left it.
    open_claims = LinkCheckClaim.objects.filter(run=run, checked_at__isnull=True)
    with celery_worker(
        redis_db=worker_redis_db, keep_queue=True, env=env, pool="prefork", concurrency=1
    ) as again:
        again.wait_until(lambda: not open_claims.exists(), seconds=120)

    # Then every link has exactly one result in the run, none lost, none twice ...
    log = first.log + again.log
    per_url = dict(checks.values_list("url").annotate(n=Count("pk")).values_list("url", "n"))
    assert per_url == {resource.url: 1 for resource in resources}, log
    assert not open_claims.exists()
    # ... a link recorded before the kill was not checked again ...
    for path in paths:
        if farm.url(path) in recorded_before:
            assert farm.hit_count(path) == hits_before[path], (path, log)
    # ... and the only links checked twice are those in flight or waiting to be recorded
    # when the worker died.
    twice = [path for path in paths if farm.hit_count(path) > 1]
    assert len(twice) <= PER_HOST + BATCH, (twice, log)
