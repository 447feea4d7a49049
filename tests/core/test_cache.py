"""The shared cache while Redis stops and comes back (a redis-server of the test's own)."""

import logging
import threading

import pytest

from apps.core.cache import ResilientRedisCache
from tests.production import own_redis

pytestmark = [pytest.mark.redis]


def _cache(url: str) -> ResilientRedisCache:
    return ResilientRedisCache(url, {"OPTIONS": {"RETRY_SECONDS": 60}})


def test_limits_keep_counting_in_the_process_while_redis_is_down(caplog):
    with own_redis() as redis:
        cache = _cache(redis.url)
        cache.set("hits", 1)
        redis.stop()

        cache.add("limit", 0)
        counts = [cache.incr("limit") for _ in range(3)]

        assert counts == [1, 2, 3]
        assert cache.get("missing", "default") == "default"


def test_one_threads_failure_spares_every_other_thread_the_attempt(caplog):
    with own_redis() as redis:
        url = redis.url
        redis.stop()
        caplog.set_level(logging.WARNING, logger="apps.core.cache")
        # Given a cache object per thread, as Django makes them
        caches = [_cache(url) for _ in range(8)]
        caches[0].get("anything")

        # Then the others know Redis is down without asking it, and one warning is logged
        others_know = []
        threads = [
            threading.Thread(target=lambda c=c: others_know.append(c.redis_is_down))
            for c in caches[1:]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for cache in caches[1:]:
            cache.get("anything")

        assert others_know == [True] * 7
        unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(unavailable) == 1

        # And once Redis answers a readiness ping, every thread uses it again
        redis.start()
        caches[3].ping()
        assert not any(cache.redis_is_down for cache in caches)
        caches[5].set("back", "yes")
        assert caches[6].get("back") == "yes"
