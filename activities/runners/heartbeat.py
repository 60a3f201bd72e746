"""Waiting on something while telling Temporal, at a steady pace, that the worker is alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

# A zero or negative interval would spin; nobody needs heartbeats faster than this.
MIN_INTERVAL_SECONDS = 0.01


async def wait_heartbeating(
    future: asyncio.Future[Any],
    *,
    seconds: float | None,
    heartbeat: Callable[[], None],
    interval: float,
) -> bool:
    """Wait up to `seconds` (None: forever) for `future`, heartbeating meanwhile; True if done.

    The future is never cancelled here, so the caller decides what a timeout means.
    """
    interval = max(interval, MIN_INTERVAL_SECONDS)
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        wait_for = interval
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return future.done()
            wait_for = min(wait_for, remaining)
        done, _ = await asyncio.wait({future}, timeout=wait_for)
        if done:
            return True
        heartbeat()


def timeout_message(seconds: float) -> str:
    """The error of a timeout, e.g. "timed out after 2s" (whole seconds shown without ".0")."""
    shown = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    return f"timed out after {shown}s"
