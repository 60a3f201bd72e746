"""Execution repository against the real PostgreSQL: action runs and their lineage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Execution, ExecutionStatus
from db.repositories import action, execution, identity
from tests.db.factories import (
    json_type,
    make_action,
    make_enforcement,
    make_execution,
    make_identity,
    unique,
)
from tests.db.factories_history import ids, newest_first, walk_back


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    an_action = await make_action(session)
    parent = await make_execution(session, of=an_action)
    an_enforcement = await make_enforcement(session)
    executor = await make_identity(session)
    workflow_id = unique("wf")
    scheduled = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    started = datetime(2026, 1, 2, 5, 4, 6, tzinfo=timezone(timedelta(hours=2)))
    ended = started + timedelta(minutes=5)
    created = await execution.repository.create(
        session,
        action_id=an_action.id,
        action_ref=an_action.ref,
        parameters={"cmd": "echo hi", "env": {"A": "1"}},
        status=ExecutionStatus.COMPLETED,
        result={"stdout": "hi\n", "exit_code": 0},
        parent_id=parent.id,
        enforcement_id=an_enforcement.id,
        executor_id=executor.id,
        workflow_id=workflow_id,
        rule_ref=an_enforcement.rule_ref,
        trigger_ref=an_enforcement.trigger_ref,
        queue_position=2**63 - 1,
        scheduled_at=scheduled,
        started_at=started,
        ended_at=ended,
        error="warning only",
    )
    read = await execution.repository.get(session, id=created.id)
    assert read.action_id == an_action.id
    assert read.action_ref == an_action.ref
    assert read.parameters == {"cmd": "echo hi", "env": {"A": "1"}}
    assert read.status is ExecutionStatus.COMPLETED
    assert read.result == {"stdout": "hi\n", "exit_code": 0}
    assert read.parent_id == parent.id
    assert read.enforcement_id == an_enforcement.id
    assert read.executor_id == executor.id
    assert read.workflow_id == workflow_id
    assert read.rule_ref == an_enforcement.rule_ref
    assert read.trigger_ref == an_enforcement.trigger_ref
    assert read.queue_position == 2**63 - 1
    assert read.scheduled_at == scheduled
    assert read.started_at == started
    assert read.ended_at == ended
    assert read.error == "warning only"


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    created = await execution.repository.create(session, action_ref="gone.action")
    assert created.id > 0
    assert created.action_id is None
    assert created.action_ref == "gone.action"
    assert created.parameters == {}
    assert created.status is ExecutionStatus.REQUESTED
    assert created.result is None
    assert await json_type(session, Execution.result, created.id) is None
    for field in (
        "parent_id",
        "enforcement_id",
        "executor_id",
        "workflow_id",
        "rule_ref",
        "trigger_ref",
        "queue_position",
        "scheduled_at",
        "started_at",
        "ended_at",
        "error",
    ):
        assert getattr(created, field) is None, field
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await execution.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"execution {2**62} not found"):
        await execution.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await execution.repository.update(session, id=2**62, changes={"error": "x"})
    assert await execution.repository.delete(session, id=2**62) is False
    missing = unique("wf")
    assert await execution.repository.find_by_key(session, missing) is None
    with pytest.raises(errors.NotFound, match=missing) as raised:
        await execution.repository.get_by_key(session, missing)
    assert raised.value.details == {"workflow_id": missing}


async def test_find_by_workflow_id(session: AsyncSession) -> None:
    workflow_id = f"execution-{unique()}"
    created = await make_execution(session, workflow_id=workflow_id)
    await make_execution(session, workflow_id=unique("wf"))
    found = await execution.repository.find_by_key(session, workflow_id)
    assert found is not None
    assert found.id == created.id
    assert (await execution.repository.get_by_key(session, workflow_id)).id == created.id


async def test_duplicate_workflow_id_is_a_conflict(session: AsyncSession) -> None:
    workflow_id = unique("wf")
    await make_execution(session, workflow_id=workflow_id)
    with pytest.raises(errors.Conflict) as raised:
        await make_execution(session, workflow_id=workflow_id)
    assert raised.value.details["constraint"] == "uq_execution_workflow_id"
    assert workflow_id in raised.value.message


async def test_many_executions_without_workflow_id(session: AsyncSession) -> None:
    first = await make_execution(session)
    second = await make_execution(session)
    assert first.workflow_id is None
    assert second.workflow_id is None


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_execution(session)
    assert await execution.repository.delete(session, id=created.id) is True
    assert await execution.repository.find(session, id=created.id) is None
    assert await execution.repository.delete(session, id=created.id) is False


async def test_update_status_advances_updated(session: AsyncSession) -> None:
    created = await make_execution(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await execution.repository.update(
        session,
        id=created.id,
        changes={"status": ExecutionStatus.RUNNING, "started_at": datetime.now(UTC)},
    )
    assert updated.status is ExecutionStatus.RUNNING
    assert updated.started_at is not None
    assert updated.action_ref == created.action_ref
    assert updated.updated > first_updated
    assert updated.created == first_created


@pytest.mark.parametrize("status", list(ExecutionStatus))
async def test_every_status_is_stored(session: AsyncSession, status: ExecutionStatus) -> None:
    created = await make_execution(session, status=status)
    read = await execution.repository.get(session, id=created.id)
    assert read.status is status
    assert created.id in ids(await execution.list_by_status(session, status=status, limit=1000))


async def test_unknown_status_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="execution_status") as raised:
        await make_execution(session, status="succeeded")
    assert raised.value.details["sqlstate"] == "22P02"


async def test_list_by_status_is_newest_first_and_filters(session: AsyncSession) -> None:
    an_action = await make_action(session)
    failed = [
        await make_execution(session, of=an_action, status=ExecutionStatus.FAILED) for _ in range(3)
    ]
    timeout = await make_execution(session, of=an_action, status=ExecutionStatus.TIMEOUT)
    mine = set(ids(failed))
    listed = await execution.list_by_status(session, status=ExecutionStatus.FAILED, limit=1000)
    assert all(found.status is ExecutionStatus.FAILED for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(failed)
    assert timeout.id not in ids(listed)
    page = await execution.list_by_status(
        session, status=ExecutionStatus.FAILED, limit=2, before_id=failed[2].id
    )
    assert ids(page) == [failed[1].id, failed[0].id]
    assert await execution.list_by_status(session, status=ExecutionStatus.FAILED, before_id=1) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await execution.list_by_status(session, status=ExecutionStatus.FAILED, limit=0)


async def test_list_by_enforcement_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    an_enforcement = await make_enforcement(session)
    other = await make_execution(session, enforcement_id=(await make_enforcement(session)).id)
    ours = [await make_execution(session, enforcement_id=an_enforcement.id) for _ in range(4)]
    listed = await execution.list_by_enforcement(session, enforcement_id=an_enforcement.id)
    assert ids(listed) == newest_first(ours)
    assert other.id not in ids(listed)
    walked = await walk_back(
        lambda before: execution.list_by_enforcement(
            session, enforcement_id=an_enforcement.id, limit=3, before_id=before
        )
    )
    assert walked == newest_first(ours)
    idle = await make_enforcement(session)
    assert await execution.list_by_enforcement(session, enforcement_id=idle.id) == []


async def test_list_children_is_newest_first_and_only_direct(session: AsyncSession) -> None:
    parent = await make_execution(session, workflow_id=unique("wf"))
    children = [await make_execution(session, parent_id=parent.id) for _ in range(5)]
    grandchild = await make_execution(session, parent_id=children[0].id)
    await make_execution(session)
    listed = await execution.list_children(session, parent_id=parent.id)
    assert ids(listed) == newest_first(children)
    assert grandchild.id not in ids(listed)
    assert ids(await execution.list_children(session, parent_id=children[0].id)) == [grandchild.id]
    walked = await walk_back(
        lambda before: execution.list_children(
            session, parent_id=parent.id, limit=2, before_id=before
        )
    )
    assert walked == newest_first(children)
    assert await execution.list_children(session, parent_id=grandchild.id) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await execution.list_children(session, parent_id=parent.id, limit=1001)


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100])
async def test_history_list_pages_back_without_gaps_or_repeats(
    session: AsyncSession, limit: int
) -> None:
    an_action = await make_action(session)
    ours = [await make_execution(session, of=an_action) for _ in range(7)]
    walked = await walk_back(
        lambda before: execution.repository.list(
            session, action_ref=an_action.ref, limit=limit, before_id=before
        )
    )
    assert walked == newest_first(ours)
    first_page = await execution.repository.list(session, action_ref=an_action.ref, limit=limit)
    assert ids(first_page) == newest_first(ours)[:limit]


async def test_deleting_the_action_keeps_the_execution_and_its_ref(session: AsyncSession) -> None:
    an_action = await make_action(session)
    created = await make_execution(session, of=an_action)
    assert await action.repository.delete(session, id=an_action.id) is True
    kept = await execution.repository.get(session, id=created.id)
    assert kept.action_id is None
    assert kept.action_ref == an_action.ref


async def test_deleting_the_parent_keeps_the_children(session: AsyncSession) -> None:
    parent = await make_execution(session)
    child = await make_execution(session, parent_id=parent.id)
    assert await execution.repository.delete(session, id=parent.id) is True
    kept = await execution.repository.get(session, id=child.id)
    assert kept.parent_id is None
    assert await execution.list_children(session, parent_id=parent.id) == []


async def test_deleting_the_executor_keeps_the_execution(session: AsyncSession) -> None:
    executor = await make_identity(session)
    created = await make_execution(session, executor_id=executor.id)
    assert await identity.repository.delete(session, id=executor.id) is True
    kept = await execution.repository.get(session, id=created.id)
    assert kept.executor_id is None
    assert kept.action_ref == created.action_ref


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("action_id", "fk_execution_action_id_action"),
        ("parent_id", "fk_execution_parent_id_execution"),
        ("enforcement_id", "fk_execution_enforcement_id_enforcement"),
        ("executor_id", "fk_execution_executor_id_identity"),
    ],
)
async def test_unknown_reference_is_a_validation_error(
    session: AsyncSession, field: str, constraint: str
) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await execution.repository.create(session, action_ref="p.a", **{field: 2**63 - 1})
    assert raised.value.details["constraint"] == constraint


async def test_missing_action_ref_names_it(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="action_ref is required"):
        await execution.repository.create(session, parameters={})


async def test_parameters_sql_null_is_refused(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="parameters is required"):
        await make_execution(session, parameters=null())


async def test_queue_position_beyond_bigint_is_a_validation_error(session: AsyncSession) -> None:
    created = await make_execution(session, queue_position=-(2**63))
    assert (await execution.repository.get(session, id=created.id)).queue_position == -(2**63)
    # A failed flush ends the transaction, so the refusal comes last.
    with pytest.raises(errors.ValidationError, match="queue_position must be between"):
        await make_execution(session, queue_position=2**63)


@pytest.mark.parametrize(
    ("result", "json_kind"),
    [
        ({}, "object"),
        ({"a": {"b": [1, {"c": None}]}, "s": "ü🚀"}, "object"),
        ([1, "two", None, {"three": 3}], "array"),
        ([], "array"),
        ("plain text", "string"),
        (42, "number"),
        (2.5, "number"),
        (True, "boolean"),
        (None, "null"),
    ],
)
async def test_result_json_round_trips(session: AsyncSession, result: Any, json_kind: str) -> None:
    created = await make_execution(session, result=result)
    read = await execution.repository.get(session, id=created.id)
    assert read.result == result
    assert type(read.result) is type(result)
    assert await json_type(session, Execution.result, created.id) == json_kind


async def test_result_sql_null_and_clearing(session: AsyncSession) -> None:
    created = await make_execution(session, result=null())
    assert await json_type(session, Execution.result, created.id) is None
    await execution.repository.update(session, id=created.id, changes={"result": {"ok": True}})
    assert await json_type(session, Execution.result, created.id) == "object"
    await execution.repository.update(session, id=created.id, changes={"result": null()})
    assert await json_type(session, Execution.result, created.id) is None
    assert (await execution.repository.get(session, id=created.id)).result is None


async def test_very_long_and_special_strings_round_trip(session: AsyncSession) -> None:
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE execution; --"
    long_text = "z" * 100_000
    workflow_id = unique("wf") + "/" + special
    created = await make_execution(
        session, workflow_id=workflow_id, error=long_text, rule_ref=special
    )
    read = await execution.repository.get(session, id=created.id)
    assert read.error == long_text
    assert read.rule_ref == special
    found = await execution.repository.find_by_key(session, workflow_id)
    assert found is not None
    assert found.id == created.id


async def test_stranded_children_are_requested_ones_whose_parent_has_ended(
    session: AsyncSession,
) -> None:
    ended = await make_execution(session, status=ExecutionStatus.FAILED)
    live = await make_execution(session, status=ExecutionStatus.RUNNING)
    stranded = await make_execution(session, parent_id=ended.id)
    started = await make_execution(session, parent_id=ended.id, status=ExecutionStatus.RUNNING)
    waiting = await make_execution(session, parent_id=live.id)
    later = datetime.now(UTC) + timedelta(minutes=1)

    found = await execution.list_stranded_children(session, created_before=later, limit=1000)
    too_young = await execution.list_stranded_children(
        session, created_before=stranded.created, limit=1000
    )

    assert stranded.id in found
    assert started.id not in found  # it ends itself
    assert waiting.id not in found  # its parent will start it
    assert stranded.id not in too_young  # created just now: its parent may be starting it


async def test_live_executions_of_a_runner_page_by_id(session: AsyncSession) -> None:
    runner = unique("runner")
    of = await make_action(session, runner_type=runner)
    statuses = [
        ExecutionStatus.SCHEDULED,
        ExecutionStatus.RUNNING,
        ExecutionStatus.CANCELING,
        ExecutionStatus.REQUESTED,
        ExecutionStatus.COMPLETED,
        ExecutionStatus.RUNNING,
    ]
    rows = [await make_execution(session, of, status=status) for status in statuses]
    await make_execution(session, status=ExecutionStatus.RUNNING)  # another runner's

    first = await execution.list_live_of_runner(session, runner_type=runner, limit=2)
    rest = await execution.list_live_of_runner(
        session, runner_type=runner, after=first[-1], limit=2
    )

    assert first == [rows[0].id, rows[1].id]
    assert rest == [rows[2].id, rows[5].id]
