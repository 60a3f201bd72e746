"""Running an action under its guard: parameters in, capped output out, nothing left.

Shared by the local-shell-cmd, local-shell-script and python-script runners. The worker
starts `action_guard.py`, which starts the action, reads its output, kills everything the
action started once it ends (or once the worker dies, even by SIGKILL) and writes the
ending to a file; the worker reads that file when the guard exits.

The worker talks to its guard by signals alone: SIGTERM, which the guard forwards to the
action's process group, and SIGUSR1, on which the guard kills the action and all it started.
The guard learns of the worker's death from SIGUSR2, its parent-death signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activities.runners.endings import forget_ending, outcome, read_ending
from activities.runners.environment import build_environment
from activities.runners.heartbeat import wait_heartbeating
from activities.runners.live_output import LiveOutput, following
from activities.runners.types import RunOutput, RunRequest

PR_SET_PDEATHSIG = 1
# Once everything of the action is killed its pipes close at once; a process the kills
# could not reach may hold them longer, and the ending is not kept waiting for it.
DRAIN_SECONDS = 2.0
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

GUARD = Path(__file__).resolve().with_name("action_guard.py")
# The guard's parent-death signal: one it catches, to kill the action before it goes.
WORKER_DIED = signal.SIGUSR2
# Asks the guard to SIGKILL the action and everything it started.
KILL_ACTION = signal.SIGUSR1
# How long a guard told to kill may take to finish: its own bounds (two seconds to kill,
# DRAIN_SECONDS to drain) and slack. Past it the guard is stuck, and is killed itself.
GUARD_EXIT_SECONDS = 10.0


def child_setup(death_signal: signal.Signals = signal.SIGKILL) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to signal the child when the worker dies, even by SIGKILL."""
    if _LIBC is None:
        return None
    prctl = _LIBC.prctl
    worker_pid = os.getpid()

    def setup() -> None:
        # The signal is tied to the forking thread: asyncio forks on the event loop's thread,
        # which lives as long as the worker does.
        prctl(PR_SET_PDEATHSIG, int(death_signal))
        if os.getppid() != worker_pid:  # the worker died before prctl took effect
            os._exit(1)

    return setup


def signal_group(pgid: int, signum: signal.Signals) -> None:
    # The group is gone, or was never ours to signal: either way there is nothing to stop.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


async def _feed_stdin(writer: asyncio.StreamWriter | None, payload: bytes) -> None:
    if writer is None:
        return
    # An action need not read its parameters; exiting without reading them is no error.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        writer.write(payload)
        await writer.drain()
    writer.close()


async def spawn(
    argv: list[str], *, stop_signal: signal.Signals = signal.SIGKILL, **options: Any
) -> asyncio.subprocess.Process:
    """create_subprocess_exec of a new session's leader, except that a cancellation meanwhile
    sends the whole group `stop_signal` and waits for the leader."""
    spawning = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, **options))
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        # Cancelled mid-spawn, asyncio would kill the leader alone, orphaning the children it
        # may have started already: let the spawn finish, then stop the group.
        await asyncio.wait({spawning})
        if not spawning.cancelled() and spawning.exception() is None:
            proc = spawning.result()
            signal_group(proc.pid, stop_signal)
            if proc.stdin is not None:
                proc.stdin.close()
            await proc.wait()
        raise


def _tell(guard: asyncio.subprocess.Process, signum: signal.Signals) -> None:
    """Signal the guard, unless it has exited (its pid may be another process's by now)."""
    if guard.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            guard.send_signal(signum)


async def _terminate(
    guard: asyncio.subprocess.Process,
    exited: asyncio.Future[Any],
    request: RunRequest,
    *,
    heartbeating: bool,
) -> None:
    """SIGTERM the action's group, give it the grace period, then SIGKILL all of it."""
    _tell(guard, signal.SIGTERM)
    beat = request.heartbeat if heartbeating else lambda: None
    await wait_heartbeating(
        exited,
        seconds=request.kill_grace_seconds,
        heartbeat=beat,
        interval=request.heartbeat_interval,
    )
    _tell(guard, KILL_ACTION)
    await asyncio.wait({exited}, timeout=GUARD_EXIT_SECONDS)
    if not exited.done():
        guard.kill()  # stuck: the action's leader still dies with it (its PDEATHSIG)
        await asyncio.wait({exited})


async def _supervise(
    guard: asyncio.subprocess.Process, request: RunRequest, payload: bytes
) -> float | None:
    """Wait for the guard, heartbeating; the timeout if it ran out, else None.

    On cancellation the action is terminated before CancelledError goes on.
    """
    timeout = request.action.timeout_seconds
    exited = asyncio.ensure_future(guard.wait())
    feeding = asyncio.create_task(_feed_stdin(guard.stdin, payload))
    timed_out_after: float | None = None
    try:
        finished = await wait_heartbeating(
            exited,
            seconds=timeout,
            heartbeat=request.heartbeat,
            interval=request.heartbeat_interval,
        )
        if not finished:
            timed_out_after = timeout
            await _terminate(guard, exited, request, heartbeating=True)
    except asyncio.CancelledError:
        await _terminate(guard, exited, request, heartbeating=False)
        raise
    finally:
        # Also reached on a second cancellation or a failing heartbeat: kill without waiting.
        _tell(guard, KILL_ACTION)
        feeding.cancel()
        if guard.stdin is not None:
            guard.stdin.close()
    return timed_out_after


def _guard_argv(
    request: RunRequest,
    argv: list[str],
    ending: Path,
    *,
    result_pipe: bool,
    inherit_fds: tuple[int, ...],
    live_dir: Path | None,
) -> list[str]:
    """The guard's command line: its settings as JSON, then the action's argv."""
    user = request.run_as
    settings = {
        "ending": str(ending),
        "limit": request.output_limit_bytes,
        "drain_seconds": DRAIN_SECONDS,
        "result_pipe": result_pipe,
        "user": None if user is None else [user.uid, user.gid],
        "inherit_fds": list(inherit_fds),
        "live_dir": None if live_dir is None else str(live_dir),
    }
    # -I: no PYTHON* variable, user site or script folder (whose types.py would shadow the
    # standard library's) on the path; -S: no site-packages, for a faster start.
    return [sys.executable, "-I", "-S", str(GUARD), json.dumps(settings), *argv]


def _without_ending(guard_returncode: int | None, log: Path) -> RunOutput:
    """What to report when the guard exited without writing an ending (a bug, or killed)."""
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    said = f": {lines[-1]}" if lines else ""
    return RunOutput.failed(
        f"the action's guard ended without reporting (exit code {guard_returncode}){said}"
    )


async def run_process(
    request: RunRequest,
    argv: list[str],
    *,
    result_pipe: bool = False,
    inherit_fds: tuple[int, ...] = (),
) -> RunOutput:
    """Run `argv` in a fresh directory and process group; its stdout, parsed as JSON when
    it is JSON, is the result.

    With `result_pipe`, the result is what the process writes to a pipe of its own
    instead, whose file descriptor is appended to `argv` (the python-script runner's
    wrapper writes the returned value there). A pipe, not a file: a file in a folder the
    action's user owns could be swapped for a link to one the worker may read.

    `inherit_fds` are descriptors the process inherits under the same numbers (the runner
    closes them). Parameters reach the process on stdin and, unless secret, in
    `ATTUNE_PARAM_*`; a secret one never in `argv`, which any user of the host can read.

    The ending goes to `request.ending_file`, left in place (any older one there is
    removed first), or to a private file that is removed.

    Raises CancelledError, once the group is killed, when the awaiting task is cancelled.
    exit_code is negative when a signal ended the process, as in `subprocess`.
    """
    started = time.monotonic()
    payload = json.dumps(request.parameters).encode()
    with (
        tempfile.TemporaryDirectory(prefix="attune-run-", ignore_cleanup_errors=True) as workdir,
        # The worker's alone (0700): an action of another user can neither read nor forge it.
        tempfile.TemporaryDirectory(prefix="attune-guard-", ignore_cleanup_errors=True) as own,
    ):
        ending = request.ending_file or Path(own) / "ending.json"
        ending.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        forget_ending(ending)  # a stale ending must not pass for this run's
        environment = build_environment(request)
        if request.run_as is not None:
            request.run_as.owns(Path(workdir))
            environment |= {"HOME": workdir, "USER": request.run_as.name}
            environment["LOGNAME"] = request.run_as.name
        live = None if request.on_output is None else LiveOutput(Path(own), request.on_output)
        guard_argv = _guard_argv(
            request,
            argv,
            ending,
            result_pipe=result_pipe,
            inherit_fds=inherit_fds,
            live_dir=None if live is None else Path(own),
        )
        log = Path(own) / "guard.log"
        try:
            with log.open("wb") as log_file:
                guard = await spawn(
                    guard_argv,
                    stop_signal=KILL_ACTION,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log_file,
                    cwd=workdir,
                    env=environment,
                    start_new_session=True,
                    preexec_fn=child_setup(WORKER_DIED),
                    pass_fds=inherit_fds,
                )
        except (OSError, ValueError) as exc:
            elapsed = time.monotonic() - started
            return RunOutput.failed(f"could not start {argv[0]}: {exc}", duration_seconds=elapsed)
        timed_out_after = await following(live, _supervise(guard, request, payload))
        output = read_ending(ending) or _without_ending(guard.returncode, log)
    if timed_out_after is not None:
        status, error = outcome(output.exit_code, timed_out_after)
        output = dataclasses.replace(output, status=status, error=error)
    return dataclasses.replace(output, duration_seconds=time.monotonic() - started)
