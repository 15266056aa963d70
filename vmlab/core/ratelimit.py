"""Rate limits kept in the cache (shared by all workers when CACHE_URL points to Redis)."""

import math
import time

from django.core.cache import cache


def allow(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one attempt for `key`; False once `limit` attempts were made in the last `window` seconds.

    Each attempt holds one of `limit` slots for `window` seconds. cache.add() is atomic (SET NX on
    Redis), so the limit holds across workers and over any `window` seconds, not only per clock minute.
    """
    return any(cache.add(f"ratelimit:{key}:{slot}", 1, timeout=window) for slot in range(limit))


def window_wait(key: str, *, limit: int, window: int = 60) -> int | None:
    """Count one request for `key` in the current `window` (fixed windows: each clock minute for 60 s); None while
    `limit` requests are not exceeded, else the seconds until the window ends. One atomic increment (INCR on Redis):
    cheap enough for every API request, unlike allow(), which costs up to `limit` cache calls."""
    now = time.time()
    window_key = f"ratelimit:{key}:window:{int(now // window)}"
    cache.add(window_key, 0, timeout=window + 1)
    try:
        used = cache.incr(window_key)
    except ValueError:  # the window's key expired between add() and incr()
        cache.add(window_key, 1, timeout=window + 1)
        used = 1
    if used <= limit:
        return None
    return max(1, math.ceil(window - now % window))
