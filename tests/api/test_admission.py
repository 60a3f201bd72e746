"""FIFO concurrency policies end to end: real API, PostgreSQL, Temporal and workers."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_session_factory
from db.models import Execution, QueueStats
from tests.admission import (
    SLEEP_ACTION,
    grant_inversions,
    limited_action,
    most_at_once,
    queue_stats,
    request_runs,
    runs_of,
    wait_until_all_ended,
)
from tests.executions import wait_for_status

pytestmark = pytest.mark.usefixtures("worker")


async def test_concurrency_one_runs_each_after_the_previous_ended(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await limited_action(api, tmp_path, limit=1, action=SLEEP_ACTION)

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
    action = await limited_action(api, tmp_path, limit=2, action=SLEEP_ACTION)
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
        api, tmp_path, limit=1, concurrency={"max_queue_length": 10}, action=SLEEP_ACTION
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
    for id in ids:
        await api.post(f"/api/v1/executions/{id}/cancel")
