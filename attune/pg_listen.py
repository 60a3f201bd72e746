"""Listening on a PostgreSQL NOTIFY channel for the life of a process, on a connection of
its own that comes back after it is lost.

PostgreSQL delivers a notification to every listener when, and only if, the transaction
that sent it commits, in commit order. While the connection is down nothing is heard:
`on_lost` says so (what the listener's owner trusted may be stale), `on_listening` says
when it hears again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
logger = logging.getLogger(__name__)


class Listener:
    """Calls `on_message(payload)` for each notification on `channel` (`start` ... `stop`)."""

    def __init__(
        self,
        database_url: str,
        channel: str,
        on_message: Callable[[str], None],
        *,
        on_listening: Callable[[], None] = lambda: None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        # NullPool: one connection held for listening, never shared with requests.
        self._engine = create_async_engine(database_url, poolclass=NullPool)
        self.channel = channel
        self._on_message = on_message
        self._on_listening = on_listening
        self._on_lost = on_lost
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    async def start(self) -> None:
        """Listen in the background; `on_lost` holds until the first LISTEN succeeds."""
        self._on_lost()
        self._task = asyncio.create_task(self._run(), name=f"listen-{self.channel}")

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
                    raw: Any = (await connection.get_raw_connection()).driver_connection
                    self._lost.clear()
                    raw.add_termination_listener(lambda _connection: self._lost.set())
                    await raw.add_listener(self.channel, self._notified)
                    self._on_listening()
                    attempt = 0
                    await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("listening on %s: %s; trying again", self.channel, error)
            self._on_lost()
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_message(payload)
