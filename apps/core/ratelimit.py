"""A fixed-window rate limit on the shared cache (Redis in production)."""

import time

from django.core.cache import cache


def rate_limit_exceeded(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one more hit for ``key``; True once more than ``limit`` fall in the window."""
    bucket = f"ratelimit:{key}:{int(time.time() // window_seconds)}"
    cache.add(bucket, 0, timeout=window_seconds + 1)
    try:
        hits = cache.incr(bucket)
    except ValueError:  # evicted between add and incr: start again
        cache.set(bucket, 1, timeout=window_seconds + 1)
        hits = 1
    return hits > limit
