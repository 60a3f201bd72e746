"""`attune.sdk.PollingSensor` on its own: what a pack author's class sees, and its bounds."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import attune.sdk
from attune.sdk import DispatchRefused, PollingSensor
from attune.sdk.sensors import STATE_LIMIT_BYTES


class Link:
    """Stands in for the sensor host: records what the sensor sends."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {"url": "https://example.test"}
        self.poll_interval = 5.0
        self.logger = logging.getLogger("sensor.pk.probe")
        self.dispatched: list[tuple[str, Any, str | None]] = []
        self.saved: list[dict[str, Any]] = []

    def dispatch(self, trigger: str, payload: Any, dedupe_key: str | None) -> bool:
        self.dispatched.append((trigger, payload, dedupe_key))
        return True

    def save_state(self, state: dict[str, Any]) -> None:
        self.saved.append(state)


class Probe(PollingSensor):
    def poll(self) -> None:
        self.dispatch("line", {"n": 1}, dedupe_key="n-1")


def attached(state: dict[str, Any] | None = None) -> tuple[Probe, Link]:
    sensor, link = Probe(), Link()
    sensor._attach(link, state or {})
    return sensor, link


def test_the_sdk_exports_the_sensor_names() -> None:
    assert {"PollingSensor", "DispatchRefused"} <= set(attune.sdk.__all__)
    assert issubclass(DispatchRefused, Exception)


def test_before_it_is_attached_a_sensor_says_when_its_settings_arrive() -> None:
    with pytest.raises(RuntimeError, match=r"from setup\(\) on"):
        _ = Probe().config
    with pytest.raises(RuntimeError, match=r"from setup\(\) on"):
        _ = Probe().state


def test_an_attached_sensor_reads_its_settings_and_dispatches_through_its_link() -> None:
    sensor, link = attached({"cursor": 3})

    sensor.poll()

    assert sensor.config == {"url": "https://example.test"}
    assert sensor.poll_interval == 5.0
    assert sensor.logger.name == "sensor.pk.probe"
    assert sensor.state == {"cursor": 3}
    assert link.dispatched == [("line", {"n": 1}, "n-1")]


def test_get_state_is_a_copy_and_set_state_saves_at_once() -> None:
    sensor, link = attached({"seen": [1]})

    copy = sensor.get_state()
    copy["seen"].append(2)
    sensor.set_state({"seen": [1, 2, 3]})

    assert link.saved == [{"seen": [1, 2, 3]}]
    assert sensor.state == {"seen": [1, 2, 3]}


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (["not", "a", "dict"], TypeError, "must be a dict, not list"),
        ({"when": object()}, TypeError, "not JSON serializable"),
        ({"ratio": float("nan")}, ValueError, "Out of range float"),
        ({"big": "x" * STATE_LIMIT_BYTES}, ValueError, "must stay under 65536 bytes"),
    ],
)
def test_set_state_refuses_what_cannot_be_kept_and_keeps_the_old_state(
    value: Any, error: type[Exception], message: str
) -> None:
    sensor, link = attached({"cursor": 1})

    with pytest.raises(error, match=message):
        sensor.set_state(value)

    assert (sensor.state, link.saved) == ({"cursor": 1}, [])


def test_a_sensor_without_poll_says_what_is_missing() -> None:
    with pytest.raises(NotImplementedError, match=r"Bare must define poll\(\)"):
        type("Bare", (PollingSensor,), {})().poll()
