"""Building run requests and checking that no process of an action is left behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from activities.runners import ActionSpec, RunRequest

API_URL = "http://127.0.0.1:9/api"
POLL_SECONDS = 0.02


class Heartbeats:
    """A heartbeat callback that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def make_request(
    runner_type: str,
    parameters: dict[str, Any] | None = None,
    *,
    entry_point: str = "",
    pack_path: Path | None = None,
    timeout: float | None = None,
    secrets: frozenset[str] = frozenset(),
    heartbeat: Callable[[], None] = lambda: None,
    heartbeat_interval: float = 1.0,
    kill_grace_seconds: float = 0.5,
    output_limit_bytes: int = 1_048_576,
    execution_id: int = 42,
) -> RunRequest:
    """A request for a one-off action `tests.<runner>`, with a short kill grace for tests."""
    action = ActionSpec(
        ref=f"tests.{runner_type}",
        runner_type=runner_type,
        entry_point=entry_point,
        pack_path=str(pack_path) if pack_path is not None else None,
        timeout_seconds=timeout,
        secret_parameters=secrets,
    )
    return RunRequest(
        action=action,
        parameters=parameters or {},
        execution_id=execution_id,
        api_url=API_URL,
        heartbeat=heartbeat,
        heartbeat_interval=heartbeat_interval,
        kill_grace_seconds=kill_grace_seconds,
        output_limit_bytes=output_limit_bytes,
    )


def read_pids(path: Path) -> list[int]:
    """The pids an action wrote to `path`, one a line; none while the file does not exist."""
    try:
        return [int(line) for line in path.read_text().split()]
    except FileNotFoundError:
        return []


async def wait_for_pids(path: Path, count: int, within: float = 5.0) -> list[int]:
    """Poll until the action has written `count` pids to `path`."""
    for _ in range(int(within / POLL_SECONDS)):
        pids = read_pids(path)
        if len(pids) >= count:
            return pids
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"the action did not write {count} pids to {path}")


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie has stopped, only its parent has yet to reap it."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_marked(marker: str) -> list[int]:
    """The running processes with `marker` in their command line."""
    return [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if any(marker in argument for argument in process.info["cmdline"] or [])
        and alive(process.pid)
    ]


async def assert_all_gone(pids: list[int], within: float = 2.0) -> None:
    """Every pid has stopped (SIGKILL is delivered asynchronously, hence the short wait)."""
    # There is no event to wait on for another process's death: poll.
    for _ in range(int(within / POLL_SECONDS)):
        if not any(alive(pid) for pid in pids):
            break
        await asyncio.sleep(POLL_SECONDS)
    survivors = [pid for pid in pids if alive(pid)]
    for pid in survivors:  # a failing test should not leave them running either
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    assert survivors == []


def write_action(pack: Path, relative: str, text: str, *, mode: int = 0o644) -> Path:
    """Write a file under the pack's actions/ folder."""
    path = pack / "actions" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path
