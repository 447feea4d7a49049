"""A Redis cache that keeps the site answering while Redis is down.

Django's Redis backend raises on every call once Redis stops, and the callers (DRF
throttles, allauth's rate limits, Stepwise's own limits and caches) would answer 500.
This backend catches a failed call, logs one warning, and serves it from a small cache
in the process instead. Rate limits therefore keep holding during an outage, per process
rather than across processes, and come back to shared counters by themselves once Redis
answers again. After a failure Redis is left alone for ``RETRY_SECONDS`` (an option), so
an outage costs each request no connection attempts.

django-redis offers ``IGNORE_EXCEPTIONS``, but it answers ``None`` where the caller asked
for a default, which DRF's and allauth's limiters do not survive; hence this subclass.
"""

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

# Django makes a cache object per thread: what is known of an outage is kept per process,
# by location, so one thread's failure spares every other thread the attempt.
_down_until: dict[str, float] = {}
_outages: set[str] = set()
_lock = threading.Lock()


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self._retry_seconds = float(options.pop("RETRY_SECONDS", 5.0))
        # Without timeouts a Redis that stops answering (rather than refusing) hangs requests.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        super().__init__(server, {**params, "OPTIONS": options})
        # LocMemCache keeps its entries per process by name: every thread shares them.
        self._fallback = LocMemCache(f"fallback-{server}", {"OPTIONS": {"MAX_ENTRIES": 10000}})
        self._location = server

    @property
    def redis_is_down(self) -> bool:
        return time.monotonic() < _down_until.get(self._location, 0.0)

    def ping(self) -> None:
        """Ask Redis itself (never the fallback); raises when it does not answer."""
        self._cache.get_client(write=True).ping()
        self._recovered()

    def _recovered(self) -> None:
        if self._location in _outages:
            with _lock:
                if self._location in _outages:
                    _outages.discard(self._location)
                    _down_until.pop(self._location, None)
                    logger.warning("Redis cache is back; shared limits and caches apply again")

    def _failed(self, exc: Exception) -> None:
        with _lock:
            if self._location not in _outages:
                _outages.add(self._location)
                logger.warning(
                    "Redis cache unavailable (%s); this process uses its own cache meanwhile, "
                    "trying Redis again every %.0f s",
                    exc,
                    self._retry_seconds,
                )
            _down_until[self._location] = time.monotonic() + self._retry_seconds

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.redis_is_down:
            try:
                result = getattr(super(), name)(*args, **kwargs)
            except _REDIS_DOWN as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("incr", *args, **kwargs)

    def decr(self, *args: Any, **kwargs: Any) -> int:
        return self._call("decr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[str]:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete_many", *args, **kwargs)

    def clear(self) -> None:
        self._call("clear")
