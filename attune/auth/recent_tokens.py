"""Tokens seen valid a moment ago, so a busy client is not looked up on every request.

Every request otherwise costs a transaction of its own. What keeps the cache honest is
`attune.auth.revocation`: every change that can make a token invalid (a revoke, a logout,
an identity disabled or deleted, its permission sets changed) notifies every API process,
and each empties its cache at once. `ttl` bounds the rest (an expiry passing). While the
process is not listening (`suspend`), nothing is trusted from the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from attune.auth.permissions import Permissions
from db.models import Identity

MAX_ENTRIES = 1024


@dataclass(frozen=True)
class Trusted:
    """What a valid token stands for: its identity and the permissions it holds now."""

    identity: Identity
    permissions: Permissions


class RecentTokens:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Trusted]] = OrderedDict()
        self._trusting = True
        self.generation = 0
        """Moves on each `clear`: a lookup that began before a clear must not be remembered
        after it (it may have read the token just before it was revoked)."""

    def get(self, token_hash: str) -> Trusted | None:
        """What the token stood for, if it was valid less than `ttl` seconds ago."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if not self._trusting or time.monotonic() >= entry[0]:
            del self._entries[token_hash]
            return None
        return entry[1]

    def remember(self, token_hash: str, trusted: Trusted, *, generation: int) -> None:
        """Keep what a lookup begun at `generation` found, unless a clear came since."""
        if self._ttl <= 0 or not self._trusting or generation != self.generation:
            return
        self._entries[token_hash] = (time.monotonic() + self._ttl, trusted)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every token: something that may make one invalid has changed."""
        self.generation += 1
        self._entries.clear()

    def suspend(self) -> None:
        """Trust nothing (the notifications may be missed) until `resume`."""
        self._trusting = False
        self.clear()

    def resume(self) -> None:
        """Trust again: notifications arrive once more. Clears what came before."""
        self.clear()
        self._trusting = True

    @property
    def trusting(self) -> bool:
        return self._trusting
