"""What a pack's sensor subclasses: `from attune.sdk import PollingSensor`.

A sensor is a class in the pack (`sensors/NAME.yaml` names it as
`entry_point: sensors/file.py:ClassName`) that watches something and dispatches events:

    class NewFiles(PollingSensor):
        def setup(self) -> None:              # once, before the first poll
            self.folder = Path(self.config["folder"])

        def poll(self) -> None:               # every `poll_interval` seconds
            seen = self.state.get("seen", 0)
            for path in sorted(self.folder.iterdir())[seen:]:
                self.dispatch("new_file", {"path": str(path)})
                seen += 1
            self.state["seen"] = seen         # saved once the poll returns

        def cleanup(self) -> None:            # when it stops, or after it raised
            ...

`setup`, `poll` and `cleanup` may each be `def` or `async def`; every coroutine of one
process runs on the same event loop, so a client opened in `setup` serves every poll.

- `self.dispatch(trigger, payload, dedupe_key=None)` stores one event on `trigger` (the
  trigger's name or its full `pack.name`; one of the sensor's `triggers`) and returns once
  it is stored and its rules have run their matching (True), or False when `dedupe_key`
  names an event this sensor stored before. A payload the trigger's schema refuses, or a
  trigger the sensor does not emit, raises `DispatchRefused`.
- `self.state` is the sensor's cursor: a JSON object of at most 64 KiB (`STATE_LIMIT_BYTES`)
  that survives restarts and the move to another worker. It is saved after each poll that
  returns; a poll that raises saves nothing, so the next poll starts from the cursor of the
  last good one and repeats what that poll had dispatched (use `dedupe_key` to make such
  a repeat store nothing). `set_state(value)` replaces it and saves it at once, for a long
  poll that wants to keep its progress; `get_state()` is a copy.
- `self.config` is the pack's configuration (a dict), `self.poll_interval` the seconds
  between polls, `self.logger` a `logging.Logger` whose lines land in the worker's log.

The code runs in a process of its own, never in the worker (see
`activities.runners.sensor_host`), and exactly once however many workers run: an exception
from `setup` or `poll` is shown as the sensor's error (`GET /api/v1/sensors/REF`) and the
sensor starts again, with backoff, from its saved state.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any, Protocol

__all__ = ["STATE_LIMIT_BYTES", "DispatchRefused", "PollingSensor"]

STATE_LIMIT_BYTES = 64 * 1024
"""The largest `state` a sensor may keep, as compact JSON: a cursor, not a data store."""


class DispatchRefused(Exception):
    """Attune did not store the event; the message says why (unknown trigger, bad payload)."""


class SensorLink(Protocol):
    """How a sensor reaches the worker that runs it (`activities.runners.sensor_host`)."""

    config: dict[str, Any]
    poll_interval: float
    logger: logging.Logger

    def dispatch(self, trigger: str, payload: Any, dedupe_key: str | None) -> bool: ...

    def save_state(self, state: dict[str, Any]) -> None: ...


def checked_state(value: Any) -> dict[str, Any]:
    """`value` as a sensor state, copied; `ValueError` or `TypeError` naming what is wrong."""
    if not isinstance(value, dict):
        raise TypeError(f"a sensor's state must be a dict, not {type(value).__name__}")
    encoded = json.dumps(value, separators=(",", ":"), allow_nan=False)  # TypeError if not JSON
    if len(encoded.encode()) > STATE_LIMIT_BYTES:
        raise ValueError(
            f"a sensor's state must stay under {STATE_LIMIT_BYTES} bytes as JSON "
            f"(this one is {len(encoded.encode())}): keep a cursor, not the data"
        )
    state: dict[str, Any] = json.loads(encoded)
    return state


class PollingSensor:
    """Subclass this and override `poll` (and `setup`, `cleanup` when needed).

    The class is made with no arguments; what the worker hands it (`config`, `state`,
    `poll_interval`, `logger`) is there from `setup` on, not yet in `__init__`.
    """

    _link: SensorLink | None = None
    _state: dict[str, Any] | None = None

    def setup(self) -> Any:
        """Called once before the first poll: open clients, read `self.config`."""

    def poll(self) -> Any:
        """Called every `poll_interval` seconds: look, `dispatch`, move `self.state` on."""
        raise NotImplementedError(f"{type(self).__name__} must define poll()")

    def cleanup(self) -> Any:
        """Called once when the sensor stops, and after `setup` or `poll` raised."""

    def dispatch(self, trigger: str, payload: Any, *, dedupe_key: str | None = None) -> bool:
        """Store an event on `trigger`; False when `dedupe_key` named one stored before."""
        if dedupe_key is not None and not isinstance(dedupe_key, str):
            raise TypeError("dedupe_key must be a string")
        return self._attached().dispatch(trigger, payload, dedupe_key)

    @property
    def state(self) -> dict[str, Any]:
        """The cursor, to read and change in place; saved when the poll returns."""
        if self._state is None:
            raise RuntimeError("the sensor's state is there from setup() on, not in __init__")
        return self._state

    def get_state(self) -> dict[str, Any]:
        """A copy of the state."""
        return copy.deepcopy(self.state)

    def set_state(self, value: dict[str, Any]) -> None:
        """Replace the state and save it now, before the poll returns."""
        state = checked_state(value)
        self._attached().save_state(state)
        self._state = state

    @property
    def config(self) -> dict[str, Any]:
        """The pack's configuration."""
        return self._attached().config

    @property
    def poll_interval(self) -> float:
        """Seconds between the end of one poll and the start of the next."""
        return self._attached().poll_interval

    @property
    def logger(self) -> logging.Logger:
        """A logger named after the sensor; its lines go to the worker's log."""
        return self._attached().logger

    def _attach(self, link: SensorLink, state: dict[str, Any]) -> None:
        """Called by the sensor host before `setup`; not for pack code."""
        self._link = link
        self._state = state

    def _attached(self) -> SensorLink:
        if self._link is None:
            raise RuntimeError(
                f"{type(self).__name__} is not running under Attune yet: config, dispatch "
                "and the rest are there from setup() on, not in __init__"
            )
        return self._link
