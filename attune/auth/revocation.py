"""Revocation that bites at once in every API process, over PostgreSQL's LISTEN/NOTIFY.

A change that can make a token invalid (a token revoked, a logout, an identity disabled
or deleted, its permission sets changed) calls `announce` in its own transaction:
PostgreSQL delivers the notification to every listener when, and only if, it commits.
Each API process runs one `RevocationListener` on a connection of its own, which empties
the process's `RecentTokens` on each notification. While that connection is down, the
cache trusts nothing (every request is looked up), until it listens again.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from attune.auth.recent_tokens import RecentTokens
from attune.pg_listen import Listener

CHANNEL = "attune_auth"


async def announce(session: AsyncSession, reason: str) -> None:
    """Tell every API process, when this transaction commits, to forget the tokens it
    trusts; `reason` (`token.revoke`, ...) is for whoever watches the channel."""
    await session.execute(
        text("SELECT pg_notify(:channel, :reason)"), {"channel": CHANNEL, "reason": reason}
    )


class RevocationListener:
    """Listens on `CHANNEL` for the life of an API process (`start` ... `stop`): the cache
    trusts nothing until the first LISTEN, nor while the connection is down, and forgets
    every token it trusts on each notification."""

    def __init__(self, database_url: str, tokens: RecentTokens) -> None:
        self._listener = Listener(
            database_url,
            CHANNEL,
            lambda _reason: tokens.clear(),
            # Anything revoked while no one listened is forgotten once it listens again.
            on_listening=tokens.resume,
            on_lost=tokens.suspend,
        )

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
