"""The conditional status writes of a run: claim, finish, cancel, and finding orphans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ExecutionStatus
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import execution
from tests.db.factories import make_action, make_execution, make_pack

SCHEDULED = datetime(2026, 1, 1, tzinfo=UTC)


async def test_claim_moves_a_requested_execution_to_running_and_reads_its_action(
    session: AsyncSession,
) -> None:
    pack = await make_pack(session, path="/packs/p")
    action = await make_action(
        session,
        pack,
        runner_type="local-shell-script",
        entry_point="run.sh",
        timeout_seconds=7,
        parameters={"properties": {"token": {"type": "string", "secret": True}}},
    )
    row = await make_execution(session, of=action, parameters={"token": "s3cret"})

    run = await execution.claim_for_run(
        session, id=row.id, workflow_id="wf-1", scheduled_at=SCHEDULED
    )

    assert run is not None
    assert (run.execution_id, run.action_ref, run.parameters) == (
        row.id,
        action.ref,
        {"token": "s3cret"},
    )
    assert (run.runner_type, run.entry_point, run.timeout_seconds, run.pack_path) == (
        "local-shell-script",
        "run.sh",
        7,
        "/packs/p",
    )
    assert run.parameters_schema == action.parameters
    claimed = await execution.repository.get(session, id=row.id)
    assert claimed.status == ExecutionStatus.RUNNING
    assert claimed.workflow_id == "wf-1"
    assert claimed.scheduled_at == SCHEDULED
    assert claimed.started_at is not None


async def test_claim_twice_runs_once(session: AsyncSession) -> None:
    row = await make_execution(session)
    first = await execution.claim_for_run(
        session, id=row.id, workflow_id="w", scheduled_at=SCHEDULED
    )

    second = await execution.claim_for_run(
        session, id=row.id, workflow_id="w", scheduled_at=SCHEDULED
    )

    assert first is not None
    assert second is None


@pytest.mark.parametrize("status", [ExecutionStatus.CANCELING, *TERMINAL_EXECUTION_STATUSES])
async def test_claim_refuses_an_execution_that_is_not_runnable(
    session: AsyncSession, status: ExecutionStatus
) -> None:
    row = await make_execution(session, status=status)

    assert (
        await execution.claim_for_run(session, id=row.id, workflow_id="w", scheduled_at=SCHEDULED)
        is None
    )
    assert (await execution.repository.get(session, id=row.id)).status == status


async def test_claim_of_an_execution_whose_action_is_gone(session: AsyncSession) -> None:
    row = await make_execution(session, action_id=None, action_ref="gone.action")

    run = await execution.claim_for_run(session, id=row.id, workflow_id="w", scheduled_at=SCHEDULED)

    assert run is not None
    assert run.runner_type is None
    assert run.action_ref == "gone.action"


async def test_the_first_ending_wins(session: AsyncSession) -> None:
    row = await make_execution(session, status=ExecutionStatus.RUNNING)

    first = await execution.finish(
        session, id=row.id, status=ExecutionStatus.COMPLETED, result={"ok": True}
    )
    late = await execution.finish(
        session, id=row.id, status=ExecutionStatus.ABANDONED, error="worker lost"
    )

    assert first == execution.Ending(ExecutionStatus.COMPLETED, None)
    assert late is None
    ended = await execution.repository.get(session, id=row.id)
    assert (ended.status, ended.result, ended.error) == (
        ExecutionStatus.COMPLETED,
        {"ok": True},
        None,
    )
    assert ended.ended_at is not None


async def test_finish_refuses_a_status_that_is_not_terminal(session: AsyncSession) -> None:
    row = await make_execution(session)

    with pytest.raises(AssertionError, match="not terminal"):
        await execution.finish(session, id=row.id, status=ExecutionStatus.RUNNING)


async def test_mark_canceling_only_while_the_execution_lives(session: AsyncSession) -> None:
    live = await make_execution(session, status=ExecutionStatus.RUNNING)
    over = await make_execution(session, status=ExecutionStatus.COMPLETED)

    canceling = await execution.mark_canceling(session, id=live.id)

    assert canceling is not None
    assert canceling.status == ExecutionStatus.CANCELING
    assert await execution.mark_canceling(session, id=over.id) is None


async def test_orphans_are_old_requested_executions_oldest_first(session: AsyncSession) -> None:
    first = await make_execution(session)
    second = await make_execution(session)
    running = await make_execution(session, status=ExecutionStatus.RUNNING)
    later = datetime.now(UTC) + timedelta(hours=1)

    found = [row.id for row in await execution.list_orphans(session, created_before=later)]
    young = await execution.list_orphans(
        session, created_before=datetime.now(UTC) - timedelta(hours=1)
    )

    assert found.index(first.id) < found.index(second.id)
    assert running.id not in found
    assert first.id not in [row.id for row in young]


async def test_mark_scheduled_moves_only_requested_executions(session: AsyncSession) -> None:
    waiting = await make_execution(session)
    claimed = await make_execution(session, status=ExecutionStatus.RUNNING)

    await execution.mark_scheduled(session, ids=[waiting.id, claimed.id])

    scheduled = await execution.repository.get(session, id=waiting.id)
    assert scheduled.status == ExecutionStatus.SCHEDULED
    assert scheduled.scheduled_at is not None
    assert (await execution.repository.get(session, id=claimed.id)).status == "running"


async def test_a_scheduled_execution_can_be_claimed(session: AsyncSession) -> None:
    row = await make_execution(session)
    await execution.mark_scheduled(session, ids=[row.id])
    scheduled_at = (await execution.repository.get(session, id=row.id)).scheduled_at

    run = await execution.claim_for_run(session, id=row.id, workflow_id="w", scheduled_at=SCHEDULED)

    assert run is not None
    # The first record of the moment it was scheduled stays.
    assert (await execution.repository.get(session, id=row.id)).scheduled_at == scheduled_at
