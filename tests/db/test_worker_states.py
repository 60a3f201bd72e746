"""A worker row's state, decided by the database's clock: alive, lost or inactive."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Worker, WorkerStatus
from db.repositories import worker as workers
from db.repositories.worker import LOST_AFTER_BEATS, WorkerState
from tests.db.factories_definitions import make_worker, tables_emptied


async def beat_seconds_ago(session: AsyncSession, row: Worker, seconds: float) -> None:
    clock = (await session.execute(select(func.now()))).scalar_one()
    await session.execute(
        update(Worker)
        .where(Worker.id == row.id)
        .values(last_heartbeat=clock - timedelta(seconds=seconds))
    )


async def test_each_row_has_the_state_its_heartbeat_and_status_say(session: AsyncSession) -> None:
    async with tables_emptied(session, Worker):
        on_time, late, never, stopped = [
            await make_worker(session, heartbeat_seconds=5.0) for _ in range(4)
        ]
        await beat_seconds_ago(session, on_time, 5 * LOST_AFTER_BEATS - 1)
        await beat_seconds_ago(session, late, 5 * LOST_AFTER_BEATS + 1)
        await beat_seconds_ago(session, stopped, 1)
        await workers.mark_stopped(session, id=stopped.id)

        listed = await workers.list_newest_first(session)
        alive = await workers.list_newest_first(session, state=WorkerState.ALIVE)
        lost = await workers.list_newest_first(session, state=WorkerState.LOST)
        count = await workers.count_alive(session)
        await session.refresh(stopped)

    states = {row.id: state for row, state in listed}
    assert states == {
        on_time.id: WorkerState.ALIVE,
        late.id: WorkerState.LOST,
        never.id: WorkerState.LOST,  # recorded, then silent before its first beat
        stopped.id: WorkerState.INACTIVE,
    }
    assert [row.id for row, _ in listed] == sorted(states, reverse=True)
    assert [row.id for row, _ in alive] == [on_time.id]
    assert [row.id for row, _ in lost] == [never.id, late.id]
    assert count == 1
    assert stopped.status is WorkerStatus.INACTIVE
    assert stopped.stopped is not None


async def test_pages_go_back_by_id(session: AsyncSession) -> None:
    async with tables_emptied(session, Worker):
        rows = [await make_worker(session) for _ in range(3)]
        first = await workers.list_newest_first(session, limit=2)
        rest = await workers.list_newest_first(session, limit=2, before_id=first[-1][0].id)

    assert [row.id for row, _ in first] == [rows[2].id, rows[1].id]
    assert [row.id for row, _ in rest] == [rows[0].id]
