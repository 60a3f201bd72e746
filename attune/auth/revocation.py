"""Revocation that bites at once in every API process, over PostgreSQL's LISTEN/NOTIFY.

A change that can make a token invalid (a token revoked, a logout, an identity disabled
or deleted, its permission sets changed) calls `announce` in its own transaction:
PostgreSQL delivers the notification to every listener when, and only if, it commits.
Each API process runs one `RevocationListener` on a connection of its own, which empties
the process's `RecentTokens` on each notification. While that connection is down, the
cache trusts nothing (every request is looked up), until it listens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from attune.auth.recent_tokens import RecentTokens

CHANNEL = "attune_auth"
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
logger = logging.getLogger(__name__)


async def announce(session: AsyncSession, reason: str) -> None:
    """Tell every API process, when this transaction commits, to forget the tokens it
    trusts; `reason` (`token.revoke`, ...) is for whoever watches the channel."""
    await session.execute(
        text("SELECT pg_notify(:channel, :reason)"), {"channel": CHANNEL, "reason": reason}
    )


class RevocationListener:
    """Listens on `CHANNEL` for the life of an API process (`start` ... `stop`)."""

    def __init__(self, database_url: str, tokens: RecentTokens) -> None:
        # NullPool: one connection held for listening, never shared with requests.
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self._tokens = tokens
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def start(self) -> None:
        """Listen in the background; until the first LISTEN succeeds the cache trusts nothing."""
        self._tokens.suspend()
        self._task = asyncio.create_task(self._run(), name="attune-revocation-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._engine.dispose()

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with self._engine.connect() as connection:
                    await self._listen(connection)
                    attempt = 0
                    await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("revocation listener: %s; token cache off until it is back", error)
            self._tokens.suspend()
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    async def _listen(self, connection: AsyncConnection) -> None:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        self._lost.clear()
        raw.add_termination_listener(lambda _connection: self._lost.set())
        await raw.add_listener(CHANNEL, self._notified)
        # Anything revoked while no one listened is forgotten now.
        self._tokens.resume()

    def _notified(self, *_: object) -> None:
        self._tokens.clear()
