"""A scheduled run through a real Redis broker and a Celery worker subprocess."""

import pytest

from apps.linkhealth.models import Health, LinkCheck, LinkCheckClaim, LinkCheckRun, ResourceHealth
from tests.celery_worker import celery_worker
from tests.factories import ResourceFactory

# Link health's own Redis database, so other suites' workers never take these tasks.
REDIS_DB = 7


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_due_links_fan_out_in_chunks_to_a_worker_through_redis(farm):
    paths = [f"/page{n}" for n in range(5)] + ["/gone"]
    for path in paths[:-1]:
        farm.route(path)
    farm.route("/gone", status=404)
    # Three host names for the farm (spellings of 127.0.0.1 any resolver knows), two
    # links each: a host's links stay in one chunk, so three chunks of two.
    hosts = ["127.0.0.1", "127.0.0.1", "127.1", "127.1", "2130706433", "2130706433"]
    resources = [
        ResourceFactory(url=f"http://{host}:{farm.port}{path}")
        for host, path in zip(hosts, paths, strict=True)
    ]

    env = {
        "LINK_CHECK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "LINK_CHECK_CHUNK_SIZE": "2",
        "LINK_CHECK_TIMEOUT_SECONDS": "2",
    }
    with celery_worker(redis_db=REDIS_DB, env=env, pool="threads", concurrency=2) as worker:
        # What beat sends every hour; twice, as a duplicate delivery would.
        worker.sender.send_task("apps.linkhealth.tasks.links_check_due")
        worker.sender.send_task("apps.linkhealth.tasks.links_check_due")
        worker.wait_until(lambda: LinkCheck.objects.count() >= len(paths))

    log = worker.log
    assert LinkCheck.objects.count() == len(paths), log
    assert all(farm.hit_count(path) == 1 for path in paths), (farm.hits, log)
    run = LinkCheckRun.objects.get()  # the second delivery found the hour taken
    assert run.kind == "scheduled"
    chunks = set(LinkCheckClaim.objects.filter(run=run).values_list("chunk", flat=True))
    assert chunks == {0, 1, 2}
    assert not LinkCheckClaim.objects.filter(checked_at__isnull=True).exists()
    gone = ResourceHealth.objects.get(resource=resources[-1])
    assert (gone.last_outcome, gone.health) == ("broken", Health.UNKNOWN)
    assert ResourceHealth.objects.filter(health=Health.OK).count() == 5
