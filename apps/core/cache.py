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


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self._retry_seconds = float(options.pop("RETRY_SECONDS", 5.0))
        # Without timeouts a Redis that stops answering (rather than refusing) hangs requests.
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 1.0)
        super().__init__(server, {**params, "OPTIONS": options})
        self._fallback = LocMemCache(f"fallback-{server}", {"OPTIONS": {"MAX_ENTRIES": 10000}})
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def redis_is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def ping(self) -> None:
        """Ask Redis itself (never the fallback); raises when it does not answer."""
        self._cache.get_client(write=True).ping()
        self._down_until = 0.0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.redis_is_down:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except _REDIS_DOWN as exc:
                with self._lock:
                    if not self.redis_is_down:
                        logger.warning(
                            "Redis cache unavailable (%s); using a per-process cache for %.0f s",
                            exc,
                            self._retry_seconds,
                        )
                    self._down_until = time.monotonic() + self._retry_seconds
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
