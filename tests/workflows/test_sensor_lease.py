"""Two leases of one sensor alive at once, as when a worker is cut off from Temporal but
not from PostgreSQL: the newer attempt takes the sensor over, and the older one's writes
are refused from then on, so the sensor still runs once."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.sensor_types import SensorLease
from activities.sensors import SensorActivities
from attune.config import Settings
from attune.engine.workflow_starts import WorkflowStarter
from attune.worker import runner_settings_from
from db.engine import create_session_factory
from tests.conftest import TemporalServer
from tests.sensors import numbers, register_directly, until_events, write_sensor_pack


def attempt(number: int) -> ActivityEnvironment:
    """The environment of one attempt of the same sensor activity."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, attempt=number, workflow_run_id="run-1", activity_id="1"
    )
    return environment


async def test_a_newer_lease_takes_the_sensor_over_and_the_older_one_stops(
    engine: AsyncEngine, temporal: TemporalServer, settings: Settings, tmp_path: Path
) -> None:
    ref, folder = write_sensor_pack(tmp_path)
    await register_directly(engine, folder)
    sensor = f"{ref}.watch"
    activities = SensorActivities(
        create_session_factory(engine),
        WorkflowStarter(temporal.client, settings.task_queue),
        runner_settings_from(settings),
    )
    # The first attempt is cut off from Temporal: nothing tells it that it has been replaced.
    cut_off = asyncio.create_task(
        attempt(1).run(activities.run_sensor, SensorLease(sensor, lease_seconds=60))
    )
    await until_events(engine, sensor, 2, what="the first lease's polls")

    retried = await attempt(2).run(activities.run_sensor, SensorLease(sensor, lease_seconds=3))
    stopped = await asyncio.wait_for(cut_off, timeout=15)

    assert retried.polls >= 2
    assert stopped.reason == "lease taken over"
    seen = await numbers(engine, sensor)
    assert sorted(set(seen)) == list(range(1, max(seen) + 1)), "no number lost"
    assert len(seen) - len(set(seen)) <= 1, "repeated at most what one poll dispatched"
    count_after_both = len(seen)
    await asyncio.sleep(2)
    assert len(await numbers(engine, sensor)) == count_after_both  # neither polls on
