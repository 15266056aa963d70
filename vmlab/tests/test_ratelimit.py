import time

from vmlab.ratelimit import allow


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
