"""The retention purge on a real PostgreSQL: only what is old and ended goes, in batches,
one purger at a time, rows held by others skipped rather than waited for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attune.retention import (
    PurgeCounts,
    first_to_purge,
    purge_history,
    run_retention,
)
from db.engine import create_session_factory
from db.models import (
    Enforcement,
    EnforcementStatus,
    Event,
    Execution,
    ExecutionStatus,
    Inquiry,
    Worker,
)
from db.repositories.retention import Cutoffs
from tests.db.factories import make_action, make_enforcement, make_event, make_execution, make_rule
from tests.db.factories_definitions import make_worker
from tests.db.factories_history import make_inquiry
from tests.polling import until

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=200)
CUTOFFS = Cutoffs(executions=NOW - timedelta(days=100), events=NOW - timedelta(days=100))
Kept = dict[str, Any]


async def backdated(session: AsyncSession, row: Any, created: datetime = OLD) -> Any:
    """`row` as if written at `created` (the repositories never set `created`)."""
    model = type(row)
    await session.execute(update(model).where(model.id == row.id).values(created=created))
    return row


async def exists(session: AsyncSession, model: Any, id: int) -> bool:
    return await session.scalar(select(model.id).where(model.id == id)) is not None


async def history(session: AsyncSession) -> dict[str, int]:
    """Old and new history: which ids must go and which must stay, by name."""
    action = await make_action(session)
    rule = await make_rule(session, runs=action)
    ended = {"status": ExecutionStatus.COMPLETED, "ended_at": OLD}
    made: dict[str, Any] = {}
    made["event_gone"] = await backdated(session, await make_event(session))
    made["enforcement_gone"] = await backdated(
        session,
        await make_enforcement(
            session, by=rule, of=made["event_gone"], status=EnforcementStatus.PROCESSED
        ),
    )
    made["execution_gone"] = await backdated(
        session,
        await make_execution(session, action, enforcement_id=made["enforcement_gone"].id, **ended),
    )
    made["inquiry_gone"] = await make_inquiry(session, made["execution_gone"])
    made["event_kept_by_enforcement"] = await backdated(session, await make_event(session))
    made["enforcement_kept_by_execution"] = await backdated(
        session,
        await make_enforcement(
            session,
            by=rule,
            of=made["event_kept_by_enforcement"],
            status=EnforcementStatus.PROCESSED,
        ),
    )
    made["execution_running"] = await backdated(
        session,
        await make_execution(
            session,
            action,
            enforcement_id=made["enforcement_kept_by_execution"].id,
            status=ExecutionStatus.RUNNING,
        ),
    )
    made["execution_ended_lately"] = await backdated(
        session, await make_execution(session, action, status=ExecutionStatus.FAILED, ended_at=NOW)
    )
    made["execution_new"] = await make_execution(
        session, action, status=ExecutionStatus.COMPLETED, ended_at=NOW
    )
    made["enforcement_unprocessed"] = await backdated(
        session, await make_enforcement(session, by=rule)
    )
    made["event_alone_gone"] = await backdated(session, await make_event(session))
    made["event_new"] = await make_event(session)
    await session.commit()
    return {name: row.id for name, row in made.items()}


MODELS = {
    "event": Event,
    "enforcement": Enforcement,
    "execution": Execution,
    "inquiry": Inquiry,
}


def model_of(name: str) -> Any:
    return MODELS[name.split("_")[0]]


async def test_only_what_is_old_and_ended_goes_and_a_dry_run_counts_it_first(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    ids = await history(session)
    sessions = create_session_factory(engine)

    counted = await purge_history(sessions, CUTOFFS, dry_run=True)
    async with sessions() as after_dry:
        assert all([await exists(after_dry, model_of(name), id) for name, id in ids.items()])
    purged = await purge_history(sessions, CUTOFFS)

    async with sessions() as check:
        left = {name: await exists(check, model_of(name), id) for name, id in ids.items()}
    assert {name for name, kept in left.items() if not kept} == {
        "event_gone",
        "enforcement_gone",
        "execution_gone",
        "inquiry_gone",
        "event_alone_gone",
    }
    assert counted == purged
    assert purged.executions >= 1
    assert purged.enforcements >= 1
    assert purged.events >= 2


async def test_a_purge_deletes_in_batches_and_tells_its_progress(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    action = await make_action(session)
    for _ in range(5):
        await backdated(
            session,
            await make_execution(session, action, status=ExecutionStatus.CANCELLED, ended_at=OLD),
        )
    await session.commit()
    told: list[tuple[str, int]] = []

    purged = await purge_history(
        create_session_factory(engine),
        Cutoffs(executions=CUTOFFS.executions, events=None),
        batch_size=2,
        pause_seconds=0,
        progress=lambda kind, deleted: told.append((kind, deleted)),
    )

    executions = [deleted for kind, deleted in told if kind == "executions"]
    assert purged.executions == executions[-1] >= 5
    assert executions == sorted(executions)
    assert all(b - a <= 2 for a, b in zip([0, *executions], executions, strict=False))


async def test_kept_forever_keeps_executions_and_the_events_they_stand_on(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    ids = await history(session)

    await purge_history(
        create_session_factory(engine), Cutoffs(executions=None, events=CUTOFFS.events)
    )

    async with create_session_factory(engine)() as check:
        assert await exists(check, Execution, ids["execution_gone"])
        assert await exists(check, Enforcement, ids["enforcement_gone"])
        assert await exists(check, Event, ids["event_gone"])  # its enforcement is kept
        assert not await exists(check, Event, ids["event_alone_gone"])


async def test_a_row_another_transaction_holds_is_skipped_not_waited_for(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    action = await make_action(session)
    ended = {"status": ExecutionStatus.COMPLETED, "ended_at": OLD}
    held = await backdated(session, await make_execution(session, action, **ended))
    free = await backdated(session, await make_execution(session, action, **ended))
    await session.commit()
    sessions = create_session_factory(engine)

    async with sessions() as holder, holder.begin():
        await holder.execute(select(Execution).where(Execution.id == held.id).with_for_update())
        await asyncio.wait_for(
            purge_history(sessions, Cutoffs(executions=CUTOFFS.executions, events=None)), 10
        )
        async with sessions() as check:
            assert not await exists(check, Execution, free.id)
    async with sessions() as check:
        assert await exists(check, Execution, held.id)  # left for the next purge


async def test_one_process_purges_at_a_time(engine: AsyncEngine) -> None:
    async with first_to_purge(engine) as first, first_to_purge(engine) as second:
        assert (first, second) == (True, False)
    async with first_to_purge(engine) as again:
        assert again is True


async def test_rows_of_workers_gone_a_week_go_and_live_ones_stay(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    gone = await make_worker(session, stopped=NOW - timedelta(days=8))
    silent = await make_worker(session, last_heartbeat=NOW - timedelta(days=9))
    beating = await make_worker(session, last_heartbeat=NOW)
    await session.commit()

    purged = await purge_history(create_session_factory(engine), Cutoffs(None, None))

    async with create_session_factory(engine)() as check:
        assert not await exists(check, Worker, gone.id)
        assert not await exists(check, Worker, silent.id)
        assert await exists(check, Worker, beating.id)
    assert purged.workers >= 2
    assert purged == PurgeCounts(workers=purged.workers)


async def test_a_workers_retention_loop_purges_on_its_own(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    old = await backdated(
        session, await make_execution(session, status=ExecutionStatus.COMPLETED, ended_at=OLD)
    )
    await session.commit()
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_retention(
            engine,
            create_session_factory(engine),
            executions_days=100,
            events_days=0,
            interval=timedelta(seconds=60),
            stop=stop,
        )
    )

    async def gone() -> bool:
        async with create_session_factory(engine)() as check:
            return not await exists(check, Execution, old.id)

    try:
        await until(gone, within=10, what="the old execution's purge")
    finally:
        stop.set()
        await asyncio.wait_for(loop, 10)
