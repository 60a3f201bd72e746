"""Child processes of `attune up`: each dies with the launcher, however the launcher dies."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Looked up once here: a forked child of a threaded process must not dlopen (a lock
# another thread held at fork time would never be released in the child).
_prctl: Callable[..., int] | None = None
if sys.platform == "linux":
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _dies_with_parent(signum: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn`: the kernel sends the child `signum` when the launcher dies.

    It runs after the child has changed user (`subprocess` does that first), which matters:
    a change of credentials clears the setting.
    """

    def arm() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, int(signum))

    return arm


@dataclass
class ChildProcess:
    """One started process and when it started (to tell a crash loop from a long run)."""

    name: str
    process: asyncio.subprocess.Process
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def ran_for(self) -> float:
        return time.monotonic() - self.started_at


async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    environment: Mapping[str, str],
    death_signal: signal.Signals,
    user: int | None = None,
    group: int | None = None,
    output: IO[bytes] | None = None,
) -> ChildProcess:
    """Start `argv` as a child that gets `death_signal` when the launcher dies.

    Must be called from the event loop's thread: the kernel ties the death signal to the
    thread that forked, so a child started from a worker thread would die with that thread.
    Each child gets a process group of its own, so a Ctrl-C in the terminal reaches the
    launcher alone, which then stops the children in order.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(environment),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=output,
        stderr=output,
        preexec_fn=_dies_with_parent(death_signal),
        process_group=0,
        user=user,
        group=group,
        extra_groups=[] if group is not None else None,
    )
    logger.info("started %s (pid %d)", name, process.pid)
    return ChildProcess(name=name, process=process)


def describe_exit(returncode: int | None) -> str:
    """How a process ended, as the console says it: its exit code or the signal that killed it."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


async def stop_child(child: ChildProcess, *, stop_signal: signal.Signals, grace: float) -> bool:
    """Send `stop_signal`, wait up to `grace` seconds, then SIGKILL; True if it took SIGKILL."""
    if child.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(stop_signal)
    try:
        await asyncio.wait_for(child.process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
        await child.process.wait()
        return True
    return False


def private_log(path: Path) -> IO[bytes]:
    """A child's log file, appended to, readable by its owner only."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    return path.open("ab")
