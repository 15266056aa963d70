"""The per-user terminal slots in the shared cache (connect.terminal_slots)."""

import itertools
import time

import pytest
from django.core.cache import cache

from connect.terminal_slots import TerminalSlot

users = itertools.count(10**6)  # user ids no other test's slots use: the cache outlives each test


@pytest.fixture
def one_terminal_each(settings):
    settings.TERMINAL_SESSIONS_PER_USER = 1
    return next(users)


def test_refreshing_keeps_the_slot_past_its_time_to_live(one_terminal_each):
    slot = TerminalSlot(one_terminal_each, ttl=0.5)
    assert slot.acquire()

    time.sleep(0.3)
    assert slot.refresh()
    time.sleep(0.3)

    assert cache.get(slot.key) == slot.token
    assert not TerminalSlot(one_terminal_each, ttl=60).acquire()


def test_a_lapsed_slot_that_is_still_free_is_taken_again(one_terminal_each):
    slot = TerminalSlot(one_terminal_each, ttl=60)
    assert slot.acquire()
    cache.delete(slot.key)  # lapsed

    assert slot.refresh()

    assert cache.get(slot.key) == slot.token
    assert not TerminalSlot(one_terminal_each, ttl=60).acquire()


def test_a_lapsed_slot_another_terminal_took_stays_theirs_and_is_not_renewed(one_terminal_each):
    lapsed = TerminalSlot(one_terminal_each, ttl=60)
    assert lapsed.acquire()
    cache.delete(lapsed.key)
    other = TerminalSlot(one_terminal_each, ttl=0.5)
    assert other.acquire()

    assert not lapsed.refresh()

    assert cache.get(other.key) == other.token
    time.sleep(0.6)
    assert cache.get(other.key) is None  # expired on its own time-to-live, not this terminal's
