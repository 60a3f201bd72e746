"""Tokens seen valid a moment ago, so a busy client is not looked up on every request.

Every request otherwise costs a transaction of its own. The price is that a token revoked
(or an identity frozen) goes on working for at most `ttl` seconds in each API process.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from db.models import Identity

MAX_ENTRIES = 1024


class RecentTokens:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Identity]] = OrderedDict()

    def get(self, token_hash: str) -> Identity | None:
        """The identity if the token was valid less than `ttl` seconds ago."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[token_hash]
            return None
        return entry[1]

    def remember(self, token_hash: str, identity: Identity) -> None:
        if self._ttl <= 0:
            return
        self._entries[token_hash] = (time.monotonic() + self._ttl, identity)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
