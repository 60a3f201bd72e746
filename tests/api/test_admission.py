"""FIFO concurrency policies end to end: real API, PostgreSQL, Temporal and workers."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_session_factory
from db.models import Execution, QueueStats
from tests.admission import (
    SHELL_ACTION,
    grant_inversions,
    limited_action,
    most_at_once,
    queue_stats,
    request_runs,
    runs_of,
    wait_until_all_ended,
)
from tests.conftest import TemporalServer
from tests.executions import assert_replays, wait_for_status
from tests.pack_folders import register_pack, write_pack
from workflows.ids import workflow_id_for

pytestmark = pytest.mark.usefixtures("worker")


async def test_concurrency_one_runs_each_after_the_previous_ended(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=1, action=SHELL_ACTION)

    ids = await request_runs(api, action, 10, parameters={"cmd": "sleep 0.1"}, in_flight=1)
    runs = await wait_until_all_ended(engine, action, 10, within=60)

    assert [run.id for run in runs] == ids  # positions follow request order
    assert [run.status for run in runs] == ["completed"] * 10
    for previous, following in itertools.pairwise(runs):
        # Comparing with None raises, so a run missing a timestamp fails here too.
        assert following.started_at >= previous.ended_at, (previous.id, following.id)  # type: ignore[operator]
        assert following.admitted_at >= previous.released_at, (previous.id, following.id)  # type: ignore[operator]


async def test_a_thousand_runs_at_concurrency_five_are_granted_in_request_order(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=5)

    await request_runs(api, action, 1000)
    runs = await wait_until_all_ended(engine, action, 1000, within=300)

    assert {run.status for run in runs} == {"completed"}
    assert [run.queue_position for run in runs] == list(range(1, 1001))
    assert grant_inversions(runs) == 0
    assert most_at_once([(run.admitted_at, run.released_at) for run in runs]) <= 5
    assert most_at_once([(run.started_at, run.ended_at) for run in runs]) <= 5
    stats = await queue_stats(api, action)
    assert stats | {"oldest_enqueued_at": None} == {
        "action": action,
        "limit": 5,
        "queue_length": 0,
        "active_count": 0,
        "oldest_enqueued_at": None,
        "total_enqueued": 1000,
        "total_completed": 1000,
    }


async def test_statistics_agree_with_the_rows_while_the_queue_drains(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=2, action=SHELL_ACTION)
    await request_runs(api, action, 30, parameters={"cmd": "sleep 0.05"})

    snapshots = []
    sessions = create_session_factory(engine)
    while True:
        # One snapshot for both: the counters commit with the rows they count.
        async with sessions() as session:
            await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            stats = (
                await session.scalars(
                    select(QueueStats)
                    .join(Execution, Execution.action_id == QueueStats.action_id)
                    .where(Execution.action_ref == action)
                    .limit(1)
                )
            ).one()
            waiting, holding, left, oldest = (
                await session.execute(
                    select(
                        func.count().filter(
                            Execution.admitted_at.is_(None), Execution.released_at.is_(None)
                        ),
                        func.count().filter(
                            Execution.admitted_at.is_not(None), Execution.released_at.is_(None)
                        ),
                        func.count().filter(Execution.released_at.is_not(None)),
                        func.min(Execution.created).filter(
                            Execution.admitted_at.is_(None), Execution.released_at.is_(None)
                        ),
                    ).where(Execution.action_ref == action)
                )
            ).one()
            snapshots.append((stats.queue_length, stats.active_count))
            assert (stats.queue_length, stats.active_count, stats.total_completed) == (
                waiting,
                holding,
                left,
            )
            assert stats.oldest_enqueued_at == oldest
            assert stats.total_enqueued == 30
            assert stats.active_count <= 2
        shown = await queue_stats(api, action)
        assert shown["total_enqueued"] == (
            shown["queue_length"] + shown["active_count"] + shown["total_completed"]
        )
        if left == 30:
            break
        await asyncio.sleep(0.05)

    assert len({length for length, _ in snapshots}) > 3  # seen while draining, not only at rest
    assert snapshots[-1] == (0, 0)


async def test_actions_have_independent_queues(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    actions = [await limited_action(api, tmp_path, limit=2) for _ in range(3)]

    await asyncio.gather(*(request_runs(api, action, 50, in_flight=4) for action in actions))

    for action in actions:
        runs = await wait_until_all_ended(engine, action, 50, within=120)
        assert [run.queue_position for run in runs] == list(range(1, 51))
        assert {run.status for run in runs} == {"completed"}
        assert grant_inversions(runs) == 0
        assert most_at_once([(run.admitted_at, run.released_at) for run in runs]) <= 2


async def test_a_full_queue_refuses_the_next_run_with_429(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(
        api, tmp_path, limit=1, concurrency={"max_queue_length": 10}, action=SHELL_ACTION
    )
    ids = await request_runs(api, action, 11, parameters={"cmd": "sleep 30"}, in_flight=1)
    await wait_for_status(api, ids[0], {"running"})

    refused = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"cmd": "true"}}
    )

    assert refused.status_code == 429, refused.text
    message = refused.json()["error"]["message"]
    assert action in message
    assert "limit 1" in message
    assert "10 executions wait" in message
    assert len(await runs_of(engine, action)) == 11  # nothing written for the refused run
    stats = await queue_stats(api, action)
    assert (stats["queue_length"], stats["active_count"]) == (10, 1)
    # End every run before the worker stops, so its shutdown never races the cancels.
    for id in ids:
        response = await api.post(f"/api/v1/executions/{id}/cancel")
        assert response.status_code == 202, response.text
    runs = await wait_until_all_ended(engine, action, 11, within=60)
    assert {run.status for run in runs} == {"cancelled"}


async def test_cancelled_queued_runs_leave_the_queue_and_never_run(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path, temporal: TemporalServer
) -> None:
    action = await limited_action(api, tmp_path, limit=1, action=SHELL_ACTION)
    # The first run holds the only slot long enough for the cancels to reach a waiting line.
    ids = await request_runs(api, action, 1, parameters={"cmd": "sleep 3"})
    ids += await request_runs(api, action, 11, parameters={"cmd": "sleep 0.1"}, in_flight=1)
    chosen = [ids[2], ids[6], ids[11]]  # the middle of the queue, and its tail

    for id in chosen:
        response = await api.post(f"/api/v1/executions/{id}/cancel")
        assert response.status_code == 202, response.text
    runs = await wait_until_all_ended(engine, action, 12, within=60)

    cancelled = [run for run in runs if run.id in chosen]
    assert [run.status for run in cancelled] == ["cancelled"] * 3
    assert all(run.admitted_at is None for run in cancelled), "a cancelled run took a slot"
    assert all(run.started_at is None for run in cancelled), "a cancelled run ran"
    ran = [run for run in runs if run.id not in chosen]
    assert [run.status for run in ran] == ["completed"] * 9
    assert grant_inversions(ran) == 0
    started = sorted(ran, key=lambda run: run.started_at)  # type: ignore[arg-type, return-value]
    assert [run.id for run in started] == [run.id for run in ran]
    stats = await queue_stats(api, action)
    assert (stats["queue_length"], stats["active_count"], stats["total_completed"]) == (0, 0, 12)
    # Waited and ran, or was cancelled while waiting: both paths replay on today's code.
    for id in ids:
        await assert_replays(temporal.client.get_workflow_handle(workflow_id_for(id)))


async def test_a_raised_limit_applies_to_the_grants_that_follow(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=1, action=SHELL_ACTION)
    ids = await request_runs(api, action, 4, parameters={"cmd": "sleep 2"}, in_flight=1)
    await wait_for_status(api, ids[0], {"running"})
    policy = f"{action.split('.')[0]}.gate"

    response = await api.patch(f"/api/v1/policies/{policy}", json={"concurrency": {"limit": 3}})

    assert response.status_code == 200, response.text
    # Before the first run's 2 s are up: granted by the change, not by a release.
    for id in ids[1:3]:
        await wait_for_status(api, id, {"running"}, within=1.5)
    stats = await queue_stats(api, action)
    assert (stats["limit"], stats["active_count"], stats["queue_length"]) == (3, 3, 1)
    runs = await wait_until_all_ended(engine, action, 4, within=30)
    assert most_at_once([(run.admitted_at, run.released_at) for run in runs]) == 3


async def test_method_cancel_refuses_when_every_slot_is_taken(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=1, method="cancel", action=SHELL_ACTION)
    [first] = await request_runs(api, action, 1, parameters={"cmd": "sleep 30"})
    await wait_for_status(api, first, {"running"})

    refused = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"cmd": "true"}}
    )

    assert refused.status_code == 429, refused.text
    assert "refuses new ones instead of queueing" in refused.json()["error"]["message"]
    await api.post(f"/api/v1/executions/{first}/cancel")
    await wait_for_status(api, first)
    [second] = await request_runs(api, action, 1, parameters={"cmd": "true"})
    assert (await wait_for_status(api, second))["status"] == "completed"


async def test_a_rule_run_refused_by_a_full_queue_is_recorded_failed(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    pack = f"adm{uuid.uuid4().hex[:10]}"
    folder = write_pack(
        tmp_path,
        pack,
        actions={"work": SHELL_ACTION},
        triggers={"hook": {"type": "webhook"}},
        rules={
            "go": {
                "trigger": f"{pack}.hook",
                "action": {"ref": f"{pack}.work", "parameters": {"cmd": "sleep 30"}},
            }
        },
        policies={
            "gate": {"action": f"{pack}.work", "concurrency": {"limit": 1, "max_queue_length": 0}}
        },
    )
    await register_pack(api, folder)
    first = await api.post(f"/api/v1/webhooks/{pack}.hook", json={})
    [running] = first.json()["execution_ids"]
    await wait_for_status(api, running, {"running"})

    second = await api.post(f"/api/v1/webhooks/{pack}.hook", json={})

    assert second.status_code == 202, second.text
    [refused] = second.json()["execution_ids"]
    execution = (await api.get(f"/api/v1/executions/{refused}")).json()
    assert execution["status"] == "failed"
    assert f"the queue of action '{pack}.work' is full" in execution["error"]
    assert "limit 1, max_queue_length 0" in execution["error"]
    assert execution["admitted_at"] is None
    [enforcement] = second.json()["enforcement_ids"]
    recorded = (await api.get(f"/api/v1/enforcements/{enforcement}")).json()
    assert recorded["error"] == execution["error"]
    await api.post(f"/api/v1/executions/{running}/cancel")
    assert (await wait_for_status(api, running))["status"] == "cancelled"


async def test_a_blocked_queue_never_delays_another_action(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    blocked = await limited_action(api, tmp_path, limit=1, action=SHELL_ACTION)
    free = await limited_action(api, tmp_path, limit=1)
    held = await request_runs(api, blocked, 4, parameters={"cmd": "sleep 30"}, in_flight=1)
    await wait_for_status(api, held[0], {"running"})

    await request_runs(api, free, 10, in_flight=1)

    # All ten run one after the other while the first action's queue stays stuck.
    runs = await wait_until_all_ended(engine, free, 10, within=20)
    assert {run.status for run in runs} == {"completed"}
    stuck = await queue_stats(api, blocked)
    assert (stuck["active_count"], stuck["queue_length"]) == (1, 3)
    for id in held:
        await api.post(f"/api/v1/executions/{id}/cancel")
    ended = await wait_until_all_ended(engine, blocked, 4, within=60)
    assert {run.status for run in ended} == {"cancelled"}


async def test_queue_stats_of_an_action_never_queued_and_of_an_unknown_one(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=4)

    assert await queue_stats(api, action) == {
        "action": action,
        "limit": 4,
        "queue_length": 0,
        "active_count": 0,
        "oldest_enqueued_at": None,
        "total_enqueued": 0,
        "total_completed": 0,
    }
    missing = await api.get("/api/v1/actions/nopack.nothing/queue-stats")
    assert missing.status_code == 404
    assert "nopack.nothing" in missing.json()["error"]["message"]


async def test_a_pack_registered_again_with_a_raised_limit_grants_at_once(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    pack = f"adm{uuid.uuid4().hex[:10]}"

    def folder(limit: int) -> Path:
        return write_pack(
            tmp_path / f"limit{limit}",
            pack,
            actions={"work": SHELL_ACTION},
            policies={"gate": {"action": f"{pack}.work", "concurrency": {"limit": limit}}},
        )

    await register_pack(api, folder(1))
    ids = await request_runs(api, f"{pack}.work", 3, parameters={"cmd": "sleep 2"}, in_flight=1)
    await wait_for_status(api, ids[0], {"running"})

    summary = await register_pack(api, folder(3))

    assert summary["policies"]["updated"] == [f"{pack}.gate"]
    # Before the first run's 2 s are up: granted by the registration, not by a release.
    for id in ids[1:]:
        await wait_for_status(api, id, {"running"}, within=1.5)
