"""Rate limits kept in the cache (shared by all workers when CACHE_URL points to Redis)."""

from django.core.cache import cache


def allow(key: str, *, limit: int, window: int = 60) -> bool:
    """Count one attempt for `key`; False once `limit` attempts were made in the last `window` seconds.

    Each attempt holds one of `limit` slots for `window` seconds. cache.add() is atomic (SET NX on
    Redis), so the limit holds across workers and over any `window` seconds, not only per clock minute.
    """
    return any(cache.add(f"ratelimit:{key}:{slot}", 1, timeout=window) for slot in range(limit))
