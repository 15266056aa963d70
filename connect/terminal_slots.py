"""At most TERMINAL_SESSIONS_PER_USER terminals open at once per user, across workers (the cache is shared).

Each open terminal holds one of the user's slots: a cache key that cache.add() takes atomically (SET NX on
Redis). A slot expires `ttl` seconds after it was last refreshed, so the terminals of a killed process stop
counting a few minutes later, one by one, whatever the user's other terminals do. Synchronous: the cache may
be a network service.
"""

import uuid

from django.conf import settings
from django.core.cache import cache


class TerminalSlot:
    def __init__(self, user_pk: int, ttl: float):
        self.user_pk = user_pk
        self.ttl = ttl
        self.token = uuid.uuid4().hex  # tells this terminal's slot from the one another terminal took after it
        self.key = ""

    def acquire(self) -> bool:
        """Take a free slot; False if all the user's slots are held."""
        for slot in range(settings.TERMINAL_SESSIONS_PER_USER):
            key = f"terminal-session:{self.user_pk}:{slot}"
            if cache.add(key, self.token, timeout=self.ttl):
                self.key = key
                return True
        return False

    def refresh(self) -> bool:
        """Keep the slot for another `ttl` seconds, or take it again if it expired and is still free; False if it
        expired and another terminal took it (this one no longer counts, so it must end)."""
        if not self.key:
            return False
        if cache.get(self.key) == self.token and cache.touch(self.key, timeout=self.ttl):
            return True
        return cache.add(self.key, self.token, timeout=self.ttl)

    def release(self) -> None:
        if self.key and cache.get(self.key) == self.token:
            cache.delete(self.key)
        self.key = ""
