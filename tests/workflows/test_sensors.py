"""Sensors on a real worker: events that fire rules, errors shown and recovered from,
leases and continue-as-new that keep the cursor, and reconciliation with the rows."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Replayer

from attune.config import Settings
from tests.conftest import TEST_DATA_CONVERTER, TemporalServer
from tests.executions import wait_for_status
from tests.pack_folders import register_pack
from tests.polling import until
from tests.sensors import (
    COUNTER,
    broken_file,
    events_of,
    numbers,
    reconcile,
    register_directly,
    sensor_row,
    start_sensor_workflow,
    start_sensors,
    stop_sensor_workflows,
    until_events,
    write_sensor_pack,
)
from workflows.sensor import SensorWorkflow, sensor_workflow_id

pytestmark = pytest.mark.usefixtures("worker")

RECORD = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {"type": "string", "default": 'echo "tick $ATTUNE_PARAM_N"'},
        "n": {"type": "integer", "required": True},
    },
}


async def test_a_sensor_emits_events_that_fire_rules(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path, actions={"record": RECORD})
    rule = {
        "trigger": f"{ref}.tick",
        "criteria": {"trigger.n": {"type": "lessthan", "pattern": 3}},
        "action": {"ref": f"{ref}.record", "parameters": {"n": "{{ trigger.n }}"}},
    }
    (folder / "rules").mkdir()
    (folder / "rules" / "on_tick.yaml").write_text(yaml.safe_dump(rule))
    sensor = f"{ref}.watch"
    try:
        report = await start_sensors(api, engine, temporal, settings, folder)
        assert report.started == [sensor]

        await until_events(engine, sensor, 3, what="three events")
        executions = await api.get("/api/v1/executions", params={"action": f"{ref}.record"})
        ran = sorted(executions.json()["items"], key=lambda item: item["id"])
        assert len(ran) == 2  # n = 1 and 2 match the rule, n = 3 does not
        outputs = [(await wait_for_status(api, run["id"]))["result"]["stdout"] for run in ran]
        shown = (await api.get(f"/api/v1/sensors/{sensor}")).json()
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    assert outputs == ["tick 1\n", "tick 2\n"]
    assert (await numbers(engine, sensor))[:3] == [1, 2, 3]
    events = await events_of(engine, sensor)
    assert {event.trigger_ref for event in events} == {f"{ref}.tick"}
    assert shown["status"] == "running"
    assert shown["state"]["count"] >= 3
    assert shown["last_poll_at"] is not None


async def test_a_failing_sensor_shows_its_error_and_recovers_from_its_cursor(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path)
    sensor = f"{ref}.watch"
    broken = broken_file(folder)
    broken.write_text("maintenance window")
    try:
        await start_sensors(api, engine, temporal, settings, folder)

        async def failing() -> bool:
            shown = (await api.get(f"/api/v1/sensors/{sensor}")).json()
            return bool(shown["status"] == "failing")

        await until(failing, what="the failure")
        shown = (await api.get(f"/api/v1/sensors/{sensor}")).json()
        assert "RuntimeError: the source is down: maintenance window" in shown["last_error"]
        assert "Traceback" in shown["last_error"]
        assert shown["failing_since"] is not None
        # The same error is the pending activity's last failure in the Web UI, encrypted
        # in Temporal (the Web UI decodes it through the codec endpoint).
        description = await temporal.client.get_workflow_handle(
            sensor_workflow_id(sensor)
        ).describe()
        [pending] = description.raw_description.pending_activities
        assert "the source is down" not in str(pending.last_failure)
        decoded = await temporal.client.data_converter.decode_failure(pending.last_failure)
        assert "the source is down" in str(decoded)
        assert await events_of(engine, sensor) == []

        broken.unlink()

        await until_events(engine, sensor, 2, what="the recovery")
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    assert (await numbers(engine, sensor))[:2] == [1, 2]
    row = await sensor_row(engine, sensor)
    assert (row.last_error, row.failing_since) == (None, None)


async def test_leases_and_continue_as_new_carry_the_cursor_on(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path)
    await register_directly(engine, folder)
    sensor = f"{ref}.watch"
    # Leases of about two polls, two leases per run: a new process every two polls and a
    # new run every four.
    handle = await start_sensor_workflow(
        temporal, settings, sensor, lease_seconds=1.5, leases_per_run=2
    )
    try:
        await until_events(engine, sensor, 6, what="six events")
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    seen = await numbers(engine, sensor)
    assert seen == list(range(1, len(seen) + 1)), "no number lost or repeated"
    first_run = temporal.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    history = await first_run.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    await Replayer(workflows=[SensorWorkflow], data_converter=TEST_DATA_CONVERTER).replay_workflow(
        history
    )


async def test_reconcile_starts_one_workflow_per_enabled_sensor_and_stops_the_rest(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path, sensors=2, poll_interval=60)
    watch, watch2 = f"{ref}.watch", f"{ref}.watch2"
    try:
        first = await start_sensors(api, engine, temporal, settings, folder)
        again = await reconcile(engine, temporal, settings, ref)
        assert (first.started, first.already_running) == ([watch, watch2], [])
        assert (again.started, again.already_running, again.stopped) == ([], [watch, watch2], [])

        definition = yaml.safe_load((folder / "sensors" / "watch2.yaml").read_text())
        (folder / "sensors" / "watch2.yaml").write_text(
            yaml.safe_dump(definition | {"enabled": False})
        )
        await register_directly(engine, folder)
        disabled = await reconcile(engine, temporal, settings, ref)
        assert disabled.stopped == [watch2]
        assert disabled.already_running == [watch]
        assert (await api.get(f"/api/v1/sensors/{watch2}")).json()["status"] == "disabled"

        (folder / "sensors" / "watch.yaml").unlink()
        await register_directly(engine, folder)
        deleted = await reconcile(engine, temporal, settings, ref)
        assert deleted.stopped == [watch]
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    for sensor in (watch, watch2):
        described = await temporal.client.get_workflow_handle(sensor_workflow_id(sensor)).describe()
        assert described.status == WorkflowExecutionStatus.TERMINATED


async def test_new_code_registered_takes_over_at_the_next_poll_with_the_cursor(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path)
    sensor = f"{ref}.watch"
    try:
        await start_sensors(api, engine, temporal, settings, folder)

        await until_events(engine, sensor, 2, what="two events")
        new_code = COUNTER.replace('"worker": os.getppid()', '"worker": os.getppid(), "v": 2')
        (folder / "sensors" / "counter2.py").write_text(textwrap.dedent(new_code))
        definition = yaml.safe_load((folder / "sensors" / "watch.yaml").read_text())
        definition["entry_point"] = "sensors/counter2.py:Counter"
        (folder / "sensors" / "watch.yaml").write_text(yaml.safe_dump(definition))
        await register_directly(engine, folder)

        async def new_version() -> bool:
            events = await events_of(engine, sensor)
            return bool(events) and events[-1].payload.get("v") == 2

        await until(new_version, what="the new code's first event")
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    seen = await numbers(engine, sensor)
    assert seen == list(range(1, len(seen) + 1)), "the cursor carried over to the new code"


async def test_registering_through_the_api_starts_the_packs_sensors_and_stops_disabled_ones(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    tmp_path: Path,
) -> None:
    ref, folder = write_sensor_pack(tmp_path)
    sensor = f"{ref}.watch"
    handle = temporal.client.get_workflow_handle(sensor_workflow_id(sensor))
    try:
        await register_pack(api, folder)

        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

        await until_events(engine, sensor, 1, what="the sensor's first event")
        definition = yaml.safe_load((folder / "sensors" / "watch.yaml").read_text())
        (folder / "sensors" / "watch.yaml").write_text(
            yaml.safe_dump(definition | {"enabled": False})
        )
        await register_pack(api, folder)

        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    finally:
        await stop_sensor_workflows(temporal, engine, ref)


async def test_a_sensor_polling_less_often_than_a_lease_lasts_waits_on_a_timer(
    engine: AsyncEngine, temporal: TemporalServer, settings: Settings, tmp_path: Path
) -> None:
    ref, folder = write_sensor_pack(tmp_path, poll_interval=3)
    await register_directly(engine, folder)
    sensor = f"{ref}.watch"
    # Leases of 1 s: every poll is further off than a lease lasts.
    handle = await start_sensor_workflow(
        temporal, settings, sensor, lease_seconds=1, leases_per_run=10
    )
    try:
        await until_events(engine, sensor, 3, within=20, what="three events")
    finally:
        await stop_sensor_workflows(temporal, engine, ref)

    polled_at = [event.created for event in await events_of(engine, sensor)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polled_at)]
    assert all(gap.total_seconds() >= 2.5 for gap in gaps), gaps  # paced, never early
    history = await handle.fetch_history()
    kinds = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_TIMER_STARTED in kinds
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in kinds
    await Replayer(workflows=[SensorWorkflow], data_converter=TEST_DATA_CONVERTER).replay_workflow(
        history
    )
