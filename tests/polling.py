"""Waiting in a test for something to become true, failing with what it waited for."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = 30.0,
    what: str = "it",
    every: float = 0.1,
) -> None:
    """Call `condition` (plain or async) every `every` seconds until it holds; fail after
    `within` seconds naming `what`."""
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"{what} did not happen within {within:g}s"
        await asyncio.sleep(every)
