"""Runs one pack sensor in a process of its own: `python -P -m activities.runners.sensor_host`.

Pack code is not trusted, so it never runs in the worker. The worker (`activities.
sensor_process`) starts this module with the sensor's settings as one JSON line on stdin;
from then on the two speak JSON lines, the worker on our stdin, we on our stdout:

    we send                                         the worker answers
    {"kind": "ready"}          setup() returned     {"command": "poll"} or "stop"
    {"kind": "dispatch", "trigger", "payload",      {"stored": bool} or {"refused": why}
     "dedupe_key"}             during a poll
    {"kind": "state", "state"} set_state()          {"saved": true} or {"refused": why}
    {"kind": "polled", "state"} poll() returned     {"command": "poll"} or "stop"
    {"kind": "error", "phase", "error", "traceback"} setup() or poll() raised; exit 1
    {"kind": "stopped"}        cleanup() ran after "stop" (or stdin closed); exit 0

The worker paces the polls, so a sensor does nothing between them and a slow worker
slows it down instead of queueing its events. Whatever the sensor prints goes to stderr
(fd 1 is pointed there at start), so nothing it writes can break the protocol by accident.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import IO, Any, NoReturn

from activities.runners.python_wrapper import import_file
from attune.sdk.sensors import DispatchRefused, PollingSensor, checked_state

# One message line (the worker refuses longer ones): the largest event payload, plus room.
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_LINE_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024
# An error's traceback is cut to its last part, which says where it was raised.
MAX_TRACEBACK_CHARS = 16 * 1024
MAX_ERROR_CHARS = 2 * 1024
EXIT_STOPPED, EXIT_FAILED = 0, 1


class _Channel:
    """The JSON-lines conversation with the worker."""

    def __init__(self, incoming: IO[bytes], outgoing: IO[bytes]) -> None:
        self._incoming = incoming
        self._outgoing = outgoing

    def send(self, message: dict[str, Any]) -> None:
        self._outgoing.write(json.dumps(message, allow_nan=False).encode() + b"\n")
        self._outgoing.flush()

    def receive(self) -> dict[str, Any] | None:
        """The worker's next message; None once it closed our stdin."""
        line = self._incoming.readline()
        if not line:
            return None
        message: dict[str, Any] = json.loads(line)
        return message


class _Link:
    """What `PollingSensor` reaches through `self.dispatch`, `self.config`, ..."""

    def __init__(self, channel: _Channel, settings: dict[str, Any]) -> None:
        self._channel = channel
        self._pack = str(settings["pack"])
        self._triggers = frozenset(settings["triggers"])
        self.config: dict[str, Any] = settings["config"]
        self.poll_interval = float(settings["poll_interval"])
        self.logger = logging.getLogger(f"sensor.{settings['sensor']}")

    def dispatch(self, trigger: str, payload: Any, dedupe_key: str | None) -> bool:
        ref = trigger if "." in trigger else f"{self._pack}.{trigger}"
        if ref not in self._triggers:
            known = ", ".join(sorted(self._triggers))
            raise DispatchRefused(f"{trigger!r} is not one of this sensor's triggers ({known})")
        encoded = json.dumps(payload, allow_nan=False)  # TypeError / ValueError: not JSON
        if len(encoded.encode()) > MAX_PAYLOAD_BYTES:
            raise DispatchRefused(f"the payload is over {MAX_PAYLOAD_BYTES} bytes as JSON")
        self._channel.send(
            {"kind": "dispatch", "trigger": ref, "payload": payload, "dedupe_key": dedupe_key}
        )
        answer = self._answer()
        return bool(answer.get("stored"))

    def save_state(self, state: dict[str, Any]) -> None:
        self._channel.send({"kind": "state", "state": state})
        self._answer()

    def _answer(self) -> dict[str, Any]:
        answer = self._channel.receive()
        if answer is None:
            raise SystemExit(EXIT_FAILED)  # the worker is gone: nothing left to report to
        if "refused" in answer:
            raise DispatchRefused(str(answer["refused"]))
        return answer


def load_sensor_class(path: Path, name: str) -> type[PollingSensor]:
    """The class `name` of the file at `path`, which must subclass `PollingSensor`."""
    target: Any = import_file(path, f"attune_sensor_{path.stem}")
    for part in name.split("."):
        target = getattr(target, part)
    if not (inspect.isclass(target) and issubclass(target, PollingSensor)):
        raise TypeError(f"{name} in {path.name} is not a subclass of attune.sdk.PollingSensor")
    sensor_class: type[PollingSensor] = target
    return sensor_class


def _error_message(phase: str, error: BaseException) -> dict[str, Any]:
    text = "".join(traceback.format_exception(error))
    summary = "".join(traceback.format_exception_only(error)).strip()
    return {
        "kind": "error",
        "phase": phase,
        "error": summary[:MAX_ERROR_CHARS],
        "traceback": text[-MAX_TRACEBACK_CHARS:],
    }


class _Host:
    def __init__(self, channel: _Channel, runner: asyncio.Runner) -> None:
        self._channel = channel
        self._runner = runner
        self._sensor: PollingSensor | None = None

    def call(self, method: str) -> None:
        """Run the sensor's `method`, awaiting it when it is a coroutine."""
        assert self._sensor is not None
        value = getattr(self._sensor, method)()
        if inspect.isawaitable(value):
            self._runner.run(_awaited(value))

    def fail(self, phase: str, error: BaseException) -> NoReturn:
        """Report the error, let the sensor clean up, and exit."""
        self._channel.send(_error_message(phase, error))
        self.clean_up()
        raise SystemExit(EXIT_FAILED)

    def clean_up(self) -> None:
        if self._sensor is None:
            return
        try:
            self.call("cleanup")
        except Exception:  # the error that matters was reported already
            logging.getLogger("sensor").exception("cleanup() raised")

    def run(self, settings: dict[str, Any]) -> int:
        try:
            sensor_class = load_sensor_class(Path(settings["file"]), settings["class_name"])
            self._sensor = sensor_class()
            self._sensor._attach(_Link(self._channel, settings), checked_state(settings["state"]))
        except Exception as error:
            self.fail("load", error)
        try:
            self.call("setup")
        except Exception as error:
            self.fail("setup", error)
        self._channel.send({"kind": "ready"})
        while (command := self._channel.receive()) is not None:
            if command.get("command") != "poll":
                break
            try:
                self.call("poll")
                state = checked_state(self._sensor.state)
            except Exception as error:
                self.fail("poll", error)
            self._channel.send({"kind": "polled", "state": state})
        self.clean_up()
        self._channel.send({"kind": "stopped"})
        return EXIT_STOPPED


async def _awaited(value: Any) -> Any:
    return await value


def main() -> int:
    # The protocol keeps the real stdout; the sensor's own prints go to stderr.
    outgoing = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    channel = _Channel(sys.stdin.buffer, outgoing)
    settings = channel.receive()
    if settings is None:
        return EXIT_FAILED
    with asyncio.Runner() as runner:
        return _Host(channel, runner).run(settings)


if __name__ == "__main__":
    sys.exit(main())
