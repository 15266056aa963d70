import multiprocessing
import os
import time
import uuid

import pytest
import redis

from vmlab.core.ratelimit import allow, window_wait


def test_the_attempt_after_the_limit_is_refused():
    results = [allow("reveal:1", limit=5) for _ in range(6)]

    assert results == [True] * 5 + [False]


def test_each_key_has_its_own_limit():
    for _ in range(5):
        allow("reveal:1", limit=5)

    assert allow("reveal:2", limit=5)


def test_the_limit_holds_across_a_clock_minute(monkeypatch):
    now = [1_000_000 * 60 + 59.9]  # a burst at the end of one clock minute ...
    monkeypatch.setattr(time, "time", lambda: now[0])
    first = [allow("reveal:1", limit=5) for _ in range(5)]
    now[0] += 0.2  # ... and at the start of the next
    second = [allow("reveal:1", limit=5) for _ in range(5)]

    assert first == [True] * 5
    assert second == [False] * 5


def test_attempts_are_allowed_again_once_the_window_has_passed(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    for _ in range(5):
        allow("reveal:1", limit=5)
    now[0] += 61

    assert allow("reveal:1", limit=5)


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings):
    """The cache production uses with several workers (CACHE_URL=redis://...), under a key prefix of its own."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is not answering: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is not answering (set TEST_REDIS_URL)")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


def attempts_in_processes(processes, attempts_each):
    """How many of processes x attempts_each simultaneous attempts, one key, each process its own worker, pass."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes)

    def worker(results):
        start.wait()
        results.put(sum(allow("reveal:7", limit=5) for _ in range(attempts_each)))

    results = context.Queue()
    workers = [context.Process(target=worker, args=(results,)) for _ in range(processes)]
    for process in workers:
        process.start()
    allowed = sum(results.get(timeout=30) for _ in workers)
    for process in workers:
        process.join(timeout=30)
    return allowed


def test_with_redis_the_limit_holds_across_worker_processes(redis_cache):
    assert attempts_in_processes(processes=4, attempts_each=5) == 5


def test_with_the_local_memory_cache_each_process_would_count_alone():
    """Why several workers need CACHE_URL (and why deploy/gunicorn.conf.py refuses to start them without)."""
    assert attempts_in_processes(processes=4, attempts_each=5) == 20


# -- window_wait: the API's per-token limit, one increment per request ----------------------------------------------


def test_the_request_after_the_window_limit_waits_until_the_window_ends(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_000_000 * 60 + 45.5)

    waits = [window_wait("api:token:1", limit=3) for _ in range(4)]

    assert waits == [None, None, None, 15]


def test_a_new_window_starts_a_new_count(monkeypatch):
    now = [1_000_000 * 60 + 59.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    for _ in range(3):
        window_wait("api:token:1", limit=3)
    now[0] += 2

    assert window_wait("api:token:1", limit=3) is None


def test_with_redis_the_window_limit_holds_across_worker_processes(redis_cache):
    context = multiprocessing.get_context("fork")
    start = context.Barrier(4)

    def worker(results):
        start.wait()
        results.put(sum(window_wait("api:token:9", limit=10, window=10**8) is None for _ in range(5)))

    results = context.Queue()
    workers = [context.Process(target=worker, args=(results,)) for _ in range(4)]
    for process in workers:
        process.start()
    allowed = sum(results.get(timeout=30) for _ in workers)
    for process in workers:
        process.join(timeout=30)

    assert allowed == 10
