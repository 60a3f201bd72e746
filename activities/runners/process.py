"""Running an action as a child process group: parameters in, capped output out, nothing left.

Shared by the local-shell-cmd, local-shell-script and python-script runners.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activities.runners.environment import build_environment
from activities.runners.heartbeat import timeout_message, wait_heartbeating
from activities.runners.output_pipe import OutputPipe
from activities.runners.types import RunOutput, RunRequest, RunStatus
from attune.json_limits import json_problem, needs_walk

PR_SET_PDEATHSIG = 1
# Once the group is killed the pipes close at once; only a process that left the group
# (setsid, daemonising) can hold them longer, and the action is not kept waiting for it.
DRAIN_SECONDS = 2.0
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def parse_json(text: str) -> tuple[Any, bool]:
    """`text` as JSON when it is JSON, else None; and whether a result was left out.

    JSON nested deeper than the API can serve back is left out (None, True), rather than
    stored to break every read of the execution.
    """
    if not text.strip():
        return None, False
    try:
        value = json.loads(text)
    except RecursionError:
        return None, True
    except ValueError:
        return None, False
    # The walk only when the text could hold something too deep (a test on the raw text).
    if needs_walk(text) and json_problem(value, field="result") is not None:
        return None, True
    return value, False


def child_setup() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when the worker dies, even by SIGKILL."""
    if _LIBC is None:
        return None
    prctl = _LIBC.prctl
    worker_pid = os.getpid()

    def setup() -> None:
        # The signal is tied to the forking thread: asyncio forks on the event loop's thread,
        # which lives as long as the worker does.
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
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


async def _terminate(
    pgid: int, exited: asyncio.Future[Any], request: RunRequest, *, heartbeating: bool
) -> None:
    """SIGTERM the group, give it the grace period, then SIGKILL it and reap the leader."""
    signal_group(pgid, signal.SIGTERM)
    beat = request.heartbeat if heartbeating else lambda: None
    await wait_heartbeating(
        exited,
        seconds=request.kill_grace_seconds,
        heartbeat=beat,
        interval=request.heartbeat_interval,
    )
    signal_group(pgid, signal.SIGKILL)
    await asyncio.wait({exited})


def _outcome(returncode: int, timed_out_after: float | None) -> tuple[RunStatus, str | None]:
    if timed_out_after is not None:
        return RunStatus.TIMEOUT, timeout_message(timed_out_after)
    if returncode == 0:
        return RunStatus.COMPLETED, None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return RunStatus.FAILED, f"killed by {name}"
    return RunStatus.FAILED, f"exit code {returncode}"


async def spawn(argv: list[str], **options: Any) -> asyncio.subprocess.Process:
    """create_subprocess_exec, except that a cancellation meanwhile kills the whole group."""
    spawning = asyncio.ensure_future(asyncio.create_subprocess_exec(*argv, **options))
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        # Cancelled mid-spawn, asyncio would kill the leader alone, orphaning the children it
        # may have started already: let the spawn finish, then kill the group.
        await asyncio.wait({spawning})
        if not spawning.cancelled() and spawning.exception() is None:
            proc = spawning.result()
            signal_group(proc.pid, signal.SIGKILL)
            if proc.stdin is not None:
                proc.stdin.close()
            await proc.wait()
        raise


async def _supervise(
    proc: asyncio.subprocess.Process,
    request: RunRequest,
    payload: bytes,
    pipes: list[OutputPipe],
) -> tuple[int, float | None]:
    """Wait for the group, heartbeating; (returncode, the timeout if it ran out, else None).

    On cancellation the group is terminated before CancelledError goes on.
    """
    pgid = proc.pid  # start_new_session makes the child the leader of its own group
    timeout = request.action.timeout_seconds
    exited = asyncio.ensure_future(proc.wait())
    feeding = asyncio.create_task(_feed_stdin(proc.stdin, payload))
    timed_out_after: float | None = None
    try:
        for pipe in pipes:
            await pipe.start_reading()
        finished = await wait_heartbeating(
            exited,
            seconds=timeout,
            heartbeat=request.heartbeat,
            interval=request.heartbeat_interval,
        )
        if not finished:
            timed_out_after = timeout
            await _terminate(pgid, exited, request, heartbeating=True)
        # Background children (`sleep 100 &`) must not outlive the action or hold its pipes.
        signal_group(pgid, signal.SIGKILL)
        await asyncio.wait([pipe.closed for pipe in pipes], timeout=DRAIN_SECONDS)
    except asyncio.CancelledError:
        await _terminate(pgid, exited, request, heartbeating=False)
        raise
    finally:
        # Also reached on a second cancellation or a failing heartbeat: kill without waiting.
        signal_group(pgid, signal.SIGKILL)
        feeding.cancel()
        if proc.stdin is not None:
            proc.stdin.close()
    return exited.result(), timed_out_after


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

    Raises CancelledError, once the group is killed, when the awaiting task is cancelled.
    exit_code is negative when a signal ended the process, as in `subprocess`.
    """
    started = time.monotonic()
    payload = json.dumps(request.parameters).encode()
    limit = request.output_limit_bytes
    with (
        tempfile.TemporaryDirectory(prefix="attune-run-", ignore_cleanup_errors=True) as workdir,
        OutputPipe(limit) as stdout,
        OutputPipe(limit) as stderr,
        # Only a runner that asks for it gets the pipe: two descriptors fewer for the rest.
        OutputPipe(limit) if result_pipe else contextlib.nullcontext() as result,
    ):
        extra_fds = inherit_fds
        if result is not None:
            argv = [*argv, str(result.write_fd)]
            extra_fds = (*extra_fds, result.write_fd)
        environment = build_environment(request)
        identity: dict[str, Any] = {}
        if request.run_as is not None:
            request.run_as.owns(Path(workdir))
            identity = {"user": request.run_as.uid, "group": request.run_as.gid, "extra_groups": []}
            environment |= {"HOME": workdir, "USER": request.run_as.name}
            environment["LOGNAME"] = request.run_as.name
        try:
            proc = await spawn(
                argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=stdout.write_fd,
                stderr=stderr.write_fd,
                cwd=workdir,
                env=environment,
                start_new_session=True,
                # Set after the user switch (CPython runs preexec_fn last), which would
                # otherwise clear the parent-death signal.
                preexec_fn=child_setup(),
                pass_fds=extra_fds,
                **identity,
            )
        except (OSError, ValueError) as exc:
            elapsed = time.monotonic() - started
            return RunOutput.failed(f"could not start {argv[0]}: {exc}", duration_seconds=elapsed)
        finally:
            stdout.close_write_end()
            stderr.close_write_end()
            if result is not None:
                result.close_write_end()
        pipes = [stdout, stderr] if result is None else [stdout, stderr, result]
        returncode, timed_out_after = await _supervise(proc, request, payload, pipes)
    status, error = _outcome(returncode, timed_out_after)
    stdout_text = stdout.text()
    if result is None:
        value, result_truncated = parse_json(stdout_text)
    elif result.truncated:
        value, result_truncated = None, True
    else:
        value, result_truncated = parse_json(result.text())
    return RunOutput(
        status=status,
        exit_code=returncode,
        stdout=stdout_text,
        stderr=stderr.text(),
        stdout_truncated=stdout.truncated,
        stderr_truncated=stderr.truncated,
        result=value,
        duration_seconds=time.monotonic() - started,
        error=error,
        result_truncated=result_truncated,
    )
