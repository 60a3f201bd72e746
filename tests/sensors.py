"""Packs with sensors for tests, and what their sensors did, in a line each."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.sensor_types import SensorInput
from attune.config import Settings
from attune.engine.sensor_workflows import SensorReconciliation, reconcile_sensors
from attune.packs.registrar import register_pack_folder
from db.engine import create_session_factory
from db.models import Event, Sensor
from tests.conftest import TemporalServer
from tests.db.factories import unique
from tests.pack_folders import write_pack
from tests.polling import until
from workflows.sensor import SensorWorkflow, sensor_workflow_id

# Counts up from its cursor: each poll dispatches the next `per_poll` numbers on `tick`,
# with the pid of the worker that runs it (the host's parent) and the time, and fails
# while the file named by the pack's config `broken` exists.
COUNTER = """
import os
from pathlib import Path

from attune.sdk import PollingSensor


class Counter(PollingSensor):
    def setup(self):
        self.broken = Path(self.config["broken"])

    def poll(self):
        if self.broken.exists():
            raise RuntimeError("the source is down: " + self.broken.read_text())
        count = self.state.get("count", 0)
        for _ in range(self.config.get("per_poll", 1)):
            count += 1
            self.dispatch("tick", {"n": count, "worker": os.getppid()})
        self.state["count"] = count
"""

TICK = {
    "type": "custom",
    "payload_schema": {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "worker": {"type": "integer"}},
        "required": ["n"],
    },
}


def write_sensor_pack(
    root: Path,
    *,
    code: str = COUNTER,
    poll_interval: int = 1,
    config: Mapping[str, Any] | None = None,
    sensors: int = 1,
    **kinds: Any,
) -> tuple[str, Path]:
    """A pack with a `tick` trigger and `sensors` sensors (`watch`, `watch2`, ...) running
    `code` (class `Counter` in `sensors/counter.py`); its ref and folder."""
    ref = unique("sn")
    broken = root / f"{ref}-broken"
    folder = write_pack(
        root,
        ref,
        triggers={"tick": TICK},
        config={"broken": str(broken), **(config or {})},
        **kinds,
    )
    (folder / "sensors").mkdir()
    (folder / "sensors" / "counter.py").write_text(textwrap.dedent(code))
    for index in range(sensors):
        name = "watch" if index == 0 else f"watch{index + 1}"
        definition = {
            "entry_point": "sensors/counter.py:Counter",
            "triggers": ["tick"],
            "poll_interval": poll_interval,
        }
        (folder / "sensors" / f"{name}.yaml").write_text(yaml.safe_dump(definition))
    return ref, folder


def broken_file(folder: Path) -> Path:
    """The file whose presence makes `COUNTER` raise."""
    return folder.parent / f"{folder.name}-broken"


async def start_sensors(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    folder: Path,
    *,
    lease_seconds: float = 300.0,
) -> SensorReconciliation:
    """Register the pack, then reconcile its sensors onto this test's task queue.

    Registered past the API, which would start the sensors itself (with the default
    lease): these tests start them when and as they choose.
    """
    await register_directly(engine, folder)
    return await reconcile(engine, temporal, settings, folder.name, lease_seconds=lease_seconds)


async def register_directly(engine: AsyncEngine, folder: Path) -> None:
    """Register the pack's rows without passing anything on to Temporal."""
    async with create_session_factory(engine)() as session:
        await register_pack_folder(session, folder)
        await session.commit()


async def reconcile(
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    pack: str,
    *,
    lease_seconds: float = 300.0,
) -> SensorReconciliation:
    """`reconcile_sensors` for one pack (the database is shared with other tests)."""
    return await reconcile_sensors(
        create_session_factory(engine),
        temporal.client,
        task_queue=settings.task_queue,
        heartbeat_timeout_seconds=settings.action_heartbeat_timeout,
        packs=[pack],
        lease_seconds=lease_seconds,
    )


async def events_of(engine: AsyncEngine, sensor_ref: str) -> list[Event]:
    """The events the sensor dispatched, oldest first."""
    async with create_session_factory(engine)() as session:
        sensor_id = await session.scalar(select(Sensor.id).where(Sensor.ref == sensor_ref))
        rows = await session.scalars(
            select(Event).where(Event.source_sensor_id == sensor_id).order_by(Event.id)
        )
        return list(rows)


async def numbers(engine: AsyncEngine, sensor_ref: str) -> list[int]:
    """The `n` of each event `COUNTER` dispatched, in the order they were stored."""
    return [event.payload["n"] for event in await events_of(engine, sensor_ref)]


async def sensor_row(engine: AsyncEngine, ref: str) -> Sensor:
    async with create_session_factory(engine)() as session:
        sensor = await session.scalar(select(Sensor).where(Sensor.ref == ref))
        assert sensor is not None, ref
        return sensor


async def until_events(
    engine: AsyncEngine, sensor_ref: str, count: int, *, within: float = 30.0, what: str
) -> None:
    """Wait until the sensor has dispatched at least `count` events."""

    async def enough() -> bool:
        return len(await events_of(engine, sensor_ref)) >= count

    await until(enough, within=within, what=what)


async def start_sensor_workflow(
    temporal: TemporalServer, settings: Settings, sensor_ref: str, **lease: Any
) -> WorkflowHandle[Any, Any]:
    """The sensor's workflow started by hand, with leases of the test's choosing."""
    input = SensorInput(sensor_ref, heartbeat_timeout_seconds=3, **lease)
    return await temporal.client.start_workflow(
        SensorWorkflow.run, input, id=sensor_workflow_id(sensor_ref), task_queue=settings.task_queue
    )


async def stop_sensor_workflows(temporal: TemporalServer, engine: AsyncEngine, pack: str) -> None:
    """Disable the pack's sensors and terminate their workflows (those `write_sensor_pack`
    names), so none keeps waiting on the test's task queue after the test, and no later
    worker that reconciles every sensor (a real `attune worker`) starts them again."""
    async with create_session_factory(engine).begin() as session:
        await session.execute(update(Sensor).where(Sensor.pack_ref == pack).values(enabled=False))
    for name in ("watch", "watch2"):
        handle = temporal.client.get_workflow_handle(sensor_workflow_id(f"{pack}.{name}"))
        with contextlib.suppress(RPCError):  # never started, or ended already
            await handle.terminate(reason="test over")
