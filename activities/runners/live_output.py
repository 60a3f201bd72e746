"""Passing an action's output on while it runs, whole lines at a time.

The guard appends what it keeps of the action's stdout and stderr to two files in the
worker's private folder (`live_dir` of its settings). A `LiveOutput` reads what is new in
them every `interval` seconds and hands the whole lines to `send` (which writes them to
PostgreSQL); a line still being written waits for its end, or for the action's. Losing a
piece is never a failure of the run: the ending holds the whole output anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

logger = logging.getLogger(__name__)

STREAMS = ("stdout", "stderr")
INTERVAL_SECONDS = 0.5
# The last flush, once the action ended, is bounded: an unreachable database does not keep
# the ending waiting.
FINAL_FLUSH_SECONDS = 5.0
Send = Callable[[str, str], Awaitable[None]]


class LiveOutput:
    """Follows the live files of one action's guard in `folder`."""

    def __init__(self, folder: Path, send: Send, *, interval: float = INTERVAL_SECONDS) -> None:
        self.folder = folder
        self.send = send
        self.interval = interval
        self.read = dict.fromkeys(STREAMS, 0)
        self.pending = dict.fromkeys(STREAMS, b"")
        self.stopped = asyncio.Event()

    async def follow(self) -> None:
        """Pass new lines on every `interval` until `stop`, then the rest."""
        while not self.stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), self.interval)
            await self.flush(final=self.stopped.is_set())

    def stop(self) -> None:
        self.stopped.set()

    async def flush(self, *, final: bool) -> None:
        """Send each stream's new whole lines (everything left, when `final`)."""
        for stream in STREAMS:
            self.pending[stream] += self._new_bytes(stream)
            data = self.pending[stream]
            cut = len(data) if final else data.rfind(b"\n") + 1
            if cut == 0:
                continue
            self.pending[stream] = data[cut:]
            try:
                await self.send(stream, data[:cut].decode("utf-8", errors="replace"))
            except Exception:
                logger.warning(
                    "could not pass on live %s; it is in the result", stream, exc_info=True
                )

    def _new_bytes(self, stream: str) -> bytes:
        try:
            with (self.folder / stream).open("rb") as live:
                live.seek(self.read[stream])
                data = live.read()
        except FileNotFoundError:
            return b""  # the guard has not opened it yet
        self.read[stream] += len(data)
        return data


async def following(live: LiveOutput | None, run: Awaitable[float | None]) -> float | None:
    """Await `run` while `live` follows the output; then its last flush, bounded."""
    if live is None:
        return await run
    pumping = asyncio.create_task(live.follow())
    try:
        return await run
    finally:
        live.stop()
        try:
            await asyncio.wait_for(asyncio.shield(pumping), FINAL_FLUSH_SECONDS)
        except (TimeoutError, asyncio.CancelledError):
            pumping.cancel()
