"""The parts of `attune up` and the loop that keeps each one running.

Every exit of a part while the system runs is a crash, code 0 included: nothing asked it
to stop. The part is started again after its restart policy's delay; only a crash loop
ends the loop, by raising `CrashLoop`, and the caller then stops everything.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from attune.supervision.children import ChildProcess, describe_exit, stop_child
from attune.supervision.console import console
from attune.supervision.restart_policy import RestartPolicy

READY_TIMEOUT_SECONDS = 60.0


class StartFailed(Exception):
    """A part's process ended, or did not become ready, while it was starting."""


@dataclass
class Part:
    """One supervised process: how to start it, how to know it serves, how to stop it.

    `ready` polls until the process serves; it is raced against the process's exit and
    `READY_TIMEOUT_SECONDS`, so it need not watch for either.
    """

    name: str
    spawn: Callable[[], Awaitable[ChildProcess]]
    stop_signal: signal.Signals
    stop_grace: float
    ready: Callable[[ChildProcess], Awaitable[None]] | None = None
    child: ChildProcess | None = None


async def start_part(part: Part) -> None:
    """Start the part and wait until it is ready; one that is not is stopped, and fails."""
    try:
        child = await part.spawn()
    except OSError as error:
        raise StartFailed(f"{part.name} could not be started: {error}") from error
    # Recorded before waiting, so a stop that comes meanwhile finds it.
    part.child = child
    if part.ready is None:
        return
    readiness = asyncio.ensure_future(part.ready(child))
    ended = asyncio.ensure_future(child.process.wait())
    try:
        done, _ = await asyncio.wait(
            {readiness, ended}, timeout=READY_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        readiness.cancel()
        ended.cancel()
    if readiness in done and readiness.exception() is None:
        return
    await stop_child(child, stop_signal=signal.SIGKILL, grace=5.0)
    part.child = None
    if readiness in done:
        raise StartFailed(f"{part.name} did not start: {readiness.exception()}")
    if ended in done:
        raise StartFailed(f"{part.name} {describe_exit(child.process.returncode)} while starting")
    raise StartFailed(f"{part.name} was not ready within {READY_TIMEOUT_SECONDS:g}s")


async def supervise(parts: Sequence[Part], *, first_restart_delay: float) -> NoReturn:
    """Restart every part that ends, with backoff, until one is in a crash loop (raised)."""
    keepers = [
        asyncio.create_task(_keep_running(part, first_restart_delay), name=part.name)
        for part in parts
    ]
    try:
        done, _ = await asyncio.wait(keepers, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
        raise AssertionError("a part's supervision ended without a reason")
    finally:
        for task in keepers:
            task.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)


async def _keep_running(part: Part, first_restart_delay: float) -> NoReturn:
    policy = RestartPolicy(part.name, first_restart_delay)
    while True:
        child = part.child
        assert child is not None, f"{part.name} was not started"
        returncode = await child.process.wait()
        ran_for = child.ran_for()
        part.child = None
        console.print(
            f"[yellow]{part.name} (pid {child.pid}) {describe_exit(returncode)} "
            f"after {ran_for:.0f}s[/]"
        )
        await _restart(part, policy, ran_for)


async def _restart(part: Part, policy: RestartPolicy, ran_for: float) -> None:
    """Start the part again after the policy's delay, trying again while starts fail."""
    while True:
        delay = policy.delay_after_exit(ran_for=ran_for, now=time.monotonic())
        console.print(f"restarting {part.name} in {delay:g}s ...")
        await asyncio.sleep(delay)
        try:
            await start_part(part)
        except StartFailed as error:
            console.print(f"[yellow]{error}[/]")
            ran_for = 0.0
            continue
        assert part.child is not None
        console.print(f"{part.name} restarted (pid {part.child.pid})")
        return


async def stop_parts(stages: Sequence[Sequence[Part]], *, within: float) -> None:
    """Stop stage by stage, the parts of one stage together (so later stages serve them).

    All within `within` seconds: a part gets its own grace, or what is left of the whole
    if that is less (at least a second), then SIGKILL.
    """
    deadline = time.monotonic() + within
    for stage in stages:
        await asyncio.gather(*(_stop(part, deadline) for part in stage))


async def _stop(part: Part, deadline: float) -> None:
    child = part.child
    if child is None:
        return
    grace = max(1.0, min(part.stop_grace, deadline - time.monotonic()))
    if await stop_child(child, stop_signal=part.stop_signal, grace=grace):
        console.print(f"[yellow]{part.name} did not stop within {grace:.0f}s; killed it[/]")
    part.child = None
