"""A fixed-window counter in the cache (shared by all workers when CACHE_URL points to Redis)."""

import time

from django.core.cache import cache


def allow(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one attempt for `key`; False once more than `limit` were made in the current window."""
    bucket = f"ratelimit:{key}:{int(time.time() // window)}"
    # add() is atomic: only the first attempt of a window creates the counter.
    if cache.add(bucket, 1, timeout=window + 1):
        return True
    try:
        return cache.incr(bucket) <= limit
    except ValueError:  # the counter expired between add() and incr()
        cache.add(bucket, 1, timeout=window + 1)
        return True
