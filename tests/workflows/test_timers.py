"""Timer rules as Temporal Schedules, on real servers and a real worker."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import ScheduleOverlapPolicy
from temporalio.service import RPCError

from activities.timer_types import FireTimerInput
from activities.timers import TimerActivities
from attune.engine.workflow_starts import WorkflowStarter
from attune.timers.schedules import reconcile_schedules
from db.engine import create_session_factory
from tests.conftest import TemporalServer
from tests.executions import wait_for_status
from tests.pack_folders import register_pack
from tests.timers import (
    TimerPacks,
    describe,
    events_of,
    timer_packs,
    wait_for_events,
)
from workflows.ids import schedule_id_for

pytestmark = pytest.mark.usefixtures("worker")
__all__ = ["timer_packs"]  # the fixture, imported to be found
EVERY_2S = {"unit": "seconds", "delta": 2}


async def test_an_interval_timer_fires_every_two_seconds_one_event_and_execution_each(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    timer_packs: TimerPacks,
) -> None:
    _, rule = await timer_packs.register("core.interval", EVERY_2S)

    fired = await wait_for_events(engine, "core.interval", rule, 3, within=15)

    due = [datetime.fromisoformat(event.payload["scheduled_at"]) for event in fired]
    assert [later - earlier for earlier, later in itertools.pairwise(due)] == [
        timedelta(seconds=2)
    ] * (len(due) - 1)
    assert fired[0].payload["schedule"] == schedule_id_for(rule)
    assert fired[0].payload["timer"] == "every 2 seconds"
    assert fired[0].payload["parameters"] == EVERY_2S
    # One event per firing, and no firing without its event.
    description = await describe(temporal.client, rule)
    taken = description.info.num_actions
    assert len(fired) <= taken <= len(fired) + 1
    assert len({event.dedupe_key for event in fired}) == len(fired)
    # Each event ran its rule's action.
    response = await api.get("/api/v1/executions", params={"limit": 100})
    by_rule = [row for row in response.json()["items"] if row["rule_ref"] == rule]
    assert len(by_rule) >= len(fired)
    assert (await wait_for_status(api, by_rule[-1]["id"]))["status"] == "completed"
    assert description.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP


async def test_a_date_timer_fires_once(
    api: httpx.AsyncClient, engine: AsyncEngine, timer_packs: TimerPacks
) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    _, rule = await timer_packs.register("core.date", {"date": at.isoformat()})

    [event] = await wait_for_events(engine, "core.date", rule, 1, within=15)
    await asyncio.sleep(3)

    assert len(await events_of(engine, "core.date", rule)) == 1
    assert datetime.fromisoformat(event.payload["scheduled_at"]) == at


async def test_a_cron_rule_gets_a_schedule_with_its_spec(
    api: httpx.AsyncClient, temporal: TemporalServer, timer_packs: TimerPacks
) -> None:
    cron = {"expression": "*/15 9-17 * * mon-fri", "timezone": "Europe/Berlin"}
    _, rule = await timer_packs.register("core.cron", cron)

    description = await describe(temporal.client, rule)

    spec = description.schedule.spec
    assert spec.time_zone_name == "Europe/Berlin"
    [calendar] = spec.calendars
    assert [(item.start, item.end or item.start) for item in calendar.hour] == [(9, 17)]
    assert sorted(item.start for item in calendar.minute) == [0, 15, 30, 45]
    assert [(item.start, item.end) for item in calendar.day_of_week] == [(1, 5)]
    next_times = description.info.next_action_times
    assert next_times
    assert all(moment.minute % 15 == 0 for moment in next_times)


async def test_disabling_the_rule_pauses_its_schedule_and_enabling_resumes_it(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    timer_packs: TimerPacks,
) -> None:
    _, rule = await timer_packs.register("core.interval", EVERY_2S)
    await wait_for_events(engine, "core.interval", rule, 1, within=15)

    response = await api.patch(f"/api/v1/rules/{rule}", json={"enabled": False})

    assert response.status_code == 200, response.text
    assert response.json()["enabled"] is False
    assert (await describe(temporal.client, rule)).schedule.state.paused
    await asyncio.sleep(1)  # a firing already under way may still land
    before = len(await events_of(engine, "core.interval", rule))
    await asyncio.sleep(4.5)
    assert len(await events_of(engine, "core.interval", rule)) == before

    response = await api.patch(f"/api/v1/rules/{rule}", json={"enabled": True})

    assert response.status_code == 200, response.text
    assert not (await describe(temporal.client, rule)).schedule.state.paused
    await wait_for_events(engine, "core.interval", rule, before + 1, within=10)


async def test_a_rule_gone_from_its_pack_takes_its_schedule_with_it(
    api: httpx.AsyncClient, temporal: TemporalServer, timer_packs: TimerPacks
) -> None:
    folder, rule = await timer_packs.register("core.cron", {"expression": "0 0 1 1 *"})
    assert (await describe(temporal.client, rule)).schedule.spec.calendars

    (folder / "rules" / "tick.yaml").unlink()
    await register_pack(api, folder)

    with pytest.raises(RPCError, match="not found"):
        await describe(temporal.client, rule)


async def test_a_changed_timer_updates_its_schedule_and_a_restart_changes_nothing(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    task_queue: str,
    timer_packs: TimerPacks,
) -> None:
    folder, rule = await timer_packs.register("core.cron", {"expression": "0 0 1 1 *"})
    (folder / "rules" / "tick.yaml").write_text(
        "trigger: {type: core.cron, parameters: {expression: '30 6 * * *'}}\n"
        "action: {ref: core.noop}\n"
    )
    await register_pack(api, folder)
    [calendar] = (await describe(temporal.client, rule)).schedule.spec.calendars
    assert [item.start for item in calendar.hour] == [6]

    # What `attune up` does when it starts again, twice over: nothing to change.
    sessions = create_session_factory(engine)
    for _ in range(2):
        changes = await reconcile_schedules(sessions, temporal.client, task_queue=task_queue)
        assert schedule_id_for(rule) not in [
            *changes.created,
            *changes.updated,
            *changes.paused,
            *changes.unpaused,
        ]
    listed = [
        item.id
        async for item in await temporal.client.list_schedules()
        if item.id == schedule_id_for(rule)
    ]
    assert len(listed) <= 1  # listing lags creation; never two of one id in any case


async def test_a_retried_firing_writes_no_second_event(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    temporal: TemporalServer,
    task_queue: str,
    timer_packs: TimerPacks,
) -> None:
    _, rule = await timer_packs.register("core.cron", {"expression": "0 0 1 1 *"})
    activities = TimerActivities(
        create_session_factory(engine), WorkflowStarter(temporal.client, task_queue)
    )
    firing = FireTimerInput(rule, schedule_id_for(rule), "2027-01-01T00:00:00+00:00")

    first = await activities.fire_timer(firing)
    again = await activities.fire_timer(firing)

    assert first.event_id is not None
    assert len(first.execution_ids) == 1
    assert again.event_id is None
    assert again.why_not == "fired already"
    assert len(await events_of(engine, "core.cron", rule)) == 1


async def test_reconcile_deletes_its_own_stray_schedules_and_leaves_other_queues_alone(
    engine: AsyncEngine, temporal: TemporalServer, task_queue: str, timer_packs: TimerPacks
) -> None:
    _, rule = await timer_packs.register("core.cron", {"expression": "0 0 1 1 *"})
    template = (await describe(temporal.client, rule)).schedule
    ours, theirs = schedule_id_for(f"gone.{task_queue}"), schedule_id_for(f"other.{task_queue}")
    await temporal.client.create_schedule(ours, template, memo={"task_queue": task_queue})
    await temporal.client.create_schedule(theirs, template, memo={"task_queue": "elsewhere"})
    sessions = create_session_factory(engine)

    async def listed(schedule_id: str) -> bool:
        return schedule_id in [item.id async for item in await temporal.client.list_schedules()]

    deadline = asyncio.get_running_loop().time() + 15
    while not (await listed(ours) and await listed(theirs)):  # listing lags creation
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.3)
    try:
        changes = await reconcile_schedules(sessions, temporal.client, task_queue=task_queue)

        assert ours in changes.deleted
        assert theirs not in changes.deleted
        assert (await temporal.client.get_schedule_handle(theirs).describe()).id == theirs
    finally:
        with contextlib.suppress(RPCError):
            await temporal.client.get_schedule_handle(theirs).delete()


async def test_a_packs_reconcile_touches_that_packs_schedules_only(
    engine: AsyncEngine, temporal: TemporalServer, task_queue: str, timer_packs: TimerPacks
) -> None:
    folder, rule = await timer_packs.register("core.cron", {"expression": "0 0 1 1 *"})
    template = (await describe(temporal.client, rule)).schedule
    mine, others = schedule_id_for(f"{folder.name}.gone"), schedule_id_for(f"x{folder.name}.y")
    for schedule_id in (mine, others):
        await temporal.client.create_schedule(
            schedule_id, template, memo={"task_queue": task_queue}
        )
    sessions = create_session_factory(engine)
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while True:  # listing lags creation
            changes = await reconcile_schedules(
                sessions, temporal.client, task_queue=task_queue, pack=folder.name
            )
            if mine in changes.deleted:
                break
            assert asyncio.get_running_loop().time() < deadline, "the stray was never deleted"
            await asyncio.sleep(0.3)

        assert others not in changes.deleted
        assert (await temporal.client.get_schedule_handle(others).describe()).id == others
    finally:
        with contextlib.suppress(RPCError):
            await temporal.client.get_schedule_handle(others).delete()
