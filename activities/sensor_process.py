"""The worker's side of a sensor: its host process, and the JSON lines spoken with it.

`activities.runners.sensor_host` runs the pack's class in a child process started as an
action's is (`activities.runners.process`): its own session and process group, killed
with the worker by `PR_SET_PDEATHSIG`, the worker's `ATTUNE_*` settings left out of its
environment, as `ATTUNE_ACTION_USER` when that is set. Every line it sends is bounded
(`MAX_LINE_BYTES`) and checked here, since the code on the other end is the pack's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from activities.runners.action_user import ActionUser
from activities.runners.environment import process_environment
from activities.runners.heartbeat import wait_heartbeating
from activities.runners.process import DRAIN_SECONDS, child_setup, signal_group, spawn
from activities.runners.sensor_host import MAX_LINE_BYTES

logger = logging.getLogger(__name__)

HOST_MODULE = "activities.runners.sensor_host"
# What of the sensor's stderr is kept for its error, and how much of it reaches the log.
STDERR_TAIL_BYTES = 8 * 1024
LOGGED_LINES_PER_PROCESS = 1000
LOGGED_LINE_CHARS = 2000
# A message from the sensor answers each of these; anything else is a broken protocol.
ANSWERED_KINDS = frozenset({"dispatch", "state"})

Answer = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class SensorFailed(Exception):
    """The sensor raised, died, hung or broke the protocol; `str()` is its error."""


@dataclass(frozen=True)
class SensorSpec:
    """One sensor as its host process needs it."""

    ref: str
    pack_ref: str
    pack_path: str
    entry_point: str  # sensors/file.py:ClassName, relative to the pack
    trigger_refs: tuple[str, ...]
    config: dict[str, Any]
    state: dict[str, Any]
    poll_interval: float

    def settings(self) -> dict[str, Any]:
        """The first line the host reads: everything but the pack's code."""
        file, _, class_name = self.entry_point.partition(":")
        pack = Path(self.pack_path).resolve()
        script = (pack / file).resolve()  # links followed: one leading out is refused
        if not script.is_relative_to(pack) or not script.is_file() or not class_name:
            raise SensorFailed(f"entry point {self.entry_point!r} is not a file of the pack")
        return {
            "file": str(script),
            "class_name": class_name,
            "sensor": self.ref,
            "pack": self.pack_ref,
            "triggers": list(self.trigger_refs),
            "config": self.config,
            "state": self.state,
            "poll_interval": self.poll_interval,
        }


@dataclass(frozen=True)
class HostOptions:
    """How this worker runs sensor processes (its `RunnerSettings`, in part)."""

    api_url: str
    heartbeat: Callable[[], None]
    heartbeat_interval: float = 1.0
    kill_grace_seconds: float = 5.0
    run_as: ActionUser | None = None


def _environment(spec: SensorSpec, options: HostOptions) -> dict[str, str]:
    """The environment pack code gets (the worker's, less its `ATTUNE_*` secrets), naming
    the sensor."""
    return process_environment(options.api_url) | {"ATTUNE_SENSOR": spec.ref}


class _Stderr:
    """Drains the sensor's stderr into the worker's log and keeps its tail for errors."""

    def __init__(self, ref: str, stream: asyncio.StreamReader) -> None:
        self._log = logging.getLogger(f"attune.sensor.{ref}")
        self._stream = stream
        self._tail = bytearray()
        self._logged = 0
        self.drained = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        partial = b""
        while chunk := await self._stream.read(64 * 1024):
            self._tail = (self._tail + chunk)[-STDERR_TAIL_BYTES:]
            *lines, partial = (partial + chunk).split(b"\n")
            partial = partial[-LOGGED_LINE_CHARS:]
            for line in lines:
                if self._logged < LOGGED_LINES_PER_PROCESS:
                    self._log.info("%s", line[:LOGGED_LINE_CHARS].decode(errors="replace"))
                self._logged += 1

    def tail(self) -> str:
        return self._tail.decode(errors="replace").strip()


class SensorProcess:
    """A running sensor host; made by `SensorProcess.started`."""

    def __init__(
        self, spec: SensorSpec, proc: asyncio.subprocess.Process, options: HostOptions
    ) -> None:
        self._spec = spec
        self._proc = proc
        self._options = options
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._stdin = proc.stdin
        self._stdout = proc.stdout
        self._stderr = _Stderr(spec.ref, proc.stderr)

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, spec: SensorSpec, options: HostOptions) -> AsyncIterator[SensorProcess]:
        """Start the host; on leaving, stop it (stdin closed, then the group killed)."""
        settings = spec.settings()
        with tempfile.TemporaryDirectory(
            prefix="attune-sensor-", ignore_cleanup_errors=True
        ) as workdir:
            environment = _environment(spec, options)
            identity: dict[str, Any] = {}
            if options.run_as is not None:
                options.run_as.owns(Path(workdir))
                user = options.run_as
                identity = {"user": user.uid, "group": user.gid, "extra_groups": []}
                environment |= {"HOME": workdir, "USER": user.name, "LOGNAME": user.name}
            # -P: neither the working directory nor a script's folder shadows Attune's modules.
            argv = [sys.executable, "-u", "-P", "-m", HOST_MODULE]
            try:
                proc = await spawn(
                    argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=workdir,
                    env=environment,
                    start_new_session=True,
                    preexec_fn=child_setup(),  # after the user switch, which would clear it
                    limit=MAX_LINE_BYTES,
                    **identity,
                )
            except (OSError, ValueError) as error:
                raise SensorFailed(f"could not start the sensor's process: {error}") from None
            host = cls(spec, proc, options)
            try:
                await host._send(settings)
                yield host
            finally:
                await host._shut_down()

    async def ready(self, answer: Answer, *, idle_seconds: float) -> None:
        """Wait for `setup()` to return."""
        await self._until("ready", answer, idle_seconds=idle_seconds)

    async def poll(self, answer: Answer, *, idle_seconds: float) -> dict[str, Any]:
        """Run one poll, answering its dispatches; the state it left."""
        await self._send({"command": "poll"})
        message = await self._until("polled", answer, idle_seconds=idle_seconds)
        state = message.get("state")
        if not isinstance(state, dict):
            raise SensorFailed("the sensor's process sent a state that is not an object")
        return state

    async def stop(self, *, idle_seconds: float) -> None:
        """Ask the sensor to clean up and wait (bounded) until it has."""
        await self._send({"command": "stop"})
        with contextlib.suppress(SensorFailed):  # it is going away: how is no longer news
            await self._until("stopped", _refuse_all, idle_seconds=idle_seconds)

    async def _until(self, kind: str, answer: Answer, *, idle_seconds: float) -> dict[str, Any]:
        """Answer the sensor's requests until it sends `kind`, each within `idle_seconds`."""
        while True:
            message = await self._receive(idle_seconds)
            got = message.get("kind")
            if got == kind:
                return message
            if got == "error":
                phase, error = message.get("phase"), message.get("error")
                raise SensorFailed(f"{phase}() raised {error}\n{message.get('traceback', '')}")
            if got not in ANSWERED_KINDS:
                raise SensorFailed(f"the sensor's process sent an unknown message {got!r}")
            await self._send(await answer(message))

    async def _receive(self, idle_seconds: float) -> dict[str, Any]:
        reading = asyncio.ensure_future(self._stdout.readline())
        try:
            done = await wait_heartbeating(
                reading,
                seconds=idle_seconds,
                heartbeat=self._options.heartbeat,
                interval=self._options.heartbeat_interval,
            )
            if not done:
                raise SensorFailed(f"the sensor sent nothing for {idle_seconds:g}s (hung?)")
            line = reading.result()
        except ValueError:  # asyncio's StreamReader: the line is over its limit
            raise SensorFailed(f"the sensor sent a message over {MAX_LINE_BYTES} bytes") from None
        finally:
            reading.cancel()
        if not line:
            raise SensorFailed(await self._exit_report())
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise SensorFailed("the sensor's process sent a line that is not JSON") from None
        if not isinstance(message, dict):
            raise SensorFailed("the sensor's process sent a message that is not an object")
        return message

    async def _send(self, message: dict[str, Any]) -> None:
        # A host that died is reported by the next read, with its exit code and stderr.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._stdin.write(json.dumps(message).encode() + b"\n")
            await self._stdin.drain()

    async def _exit_report(self) -> str:
        """Why the host ended without a word: its exit code and the tail of its stderr."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), self._options.kill_grace_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._stderr.drained), DRAIN_SECONDS)
        code = self._proc.returncode
        how = "did not exit" if code is None else f"exited with code {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):  # a number no Signals member has
                how = f"was killed by {signal.Signals(-code).name}"
        tail = self._stderr.tail()
        return f"the sensor's process {how}" + (f"; its stderr ends:\n{tail}" if tail else "")

    async def _shut_down(self) -> None:
        """Close stdin (the host cleans up on EOF), give it the grace period, kill the group."""
        self._stdin.close()
        exited = asyncio.ensure_future(self._proc.wait())
        try:
            await asyncio.wait({exited}, timeout=self._options.kill_grace_seconds)
        finally:
            # Also on a second cancellation: whatever it started must not outlive it.
            signal_group(self._proc.pid, signal.SIGKILL)
            await asyncio.wait({exited})
            await asyncio.wait({self._stderr.drained}, timeout=DRAIN_SECONDS)
            self._stderr.drained.cancel()


async def _refuse_all(message: dict[str, Any]) -> dict[str, Any]:
    """Once stopping, the sensor dispatches nothing more."""
    return {"refused": "the sensor is stopping"}
