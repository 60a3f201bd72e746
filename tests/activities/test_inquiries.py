"""The inquiry activities against the real PostgreSQL: each write happens once, however
often an activity is retried or whichever ending comes first."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.inquiries import InquiryActivities
from activities.inquiry_types import (
    CloseInquiryInput,
    FinishAskInput,
    OpenInquiryInput,
    RecordResponseInput,
)
from attune.config import decode_encryption_key
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.packs.parameters import parameters_schema
from db.engine import create_session_factory
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.db.factories import make_action

KEY = decode_encryption_key(TEST_ENCRYPTION_KEY)


async def requested_ask(engine: AsyncEngine, **parameters: Any) -> int:
    """A committed `core.ask` execution, `requested`, as the API writes it."""
    async with create_session_factory(engine).begin() as session:
        action = await find_runnable_action(session, "core.ask")
        row = await request_execution(
            session, action=action, parameters={"prompt": "Go?"} | parameters
        )
        return row.execution.id


@pytest.fixture
def activities(engine: AsyncEngine) -> InquiryActivities:
    return InquiryActivities(create_session_factory(engine))


async def test_opening_claims_the_execution_and_a_retry_finds_the_same_inquiry(
    engine: AsyncEngine, activities: InquiryActivities
) -> None:
    execution_id = await requested_ask(engine, assignees=["alice"], ttl=120)
    environment = ActivityEnvironment()

    first = await environment.run(activities.open_inquiry, OpenInquiryInput(execution_id))
    again = await environment.run(activities.open_inquiry, OpenInquiryInput(execution_id))

    assert first.inquiry is not None
    assert again == first
    assert first.inquiry.assignees == ["alice"]
    assert first.inquiry.response_schema == {}
    async with create_session_factory(engine)() as session:
        execution = await executions.repository.get(session, id=execution_id)
        written = await inquiries.list_by_execution(session, execution_id=execution_id)
    assert execution.status == "running"
    assert [inquiry.id for inquiry in written] == [first.inquiry.inquiry_id]
    assert written[0].timeout_at is not None
    assert abs((written[0].timeout_at - written[0].created).total_seconds() - 120) < 5


async def test_an_execution_cancelled_before_it_asked_asks_nothing(
    engine: AsyncEngine, activities: InquiryActivities
) -> None:
    execution_id = await requested_ask(engine)
    async with create_session_factory(engine).begin() as session:
        await executions.mark_canceling(session, id=execution_id)

    opened = await ActivityEnvironment().run(
        activities.open_inquiry, OpenInquiryInput(execution_id)
    )

    assert opened.inquiry is None
    assert opened.outcome is not None
    assert opened.outcome.status == "cancelled"
    assert opened.outcome.error == "cancelled by request before it ran"
    async with create_session_factory(engine)() as session:
        assert await inquiries.list_by_execution(session, execution_id=execution_id) == []


async def test_an_inquiry_ends_once_whichever_ending_comes_first(
    engine: AsyncEngine, activities: InquiryActivities
) -> None:
    environment = ActivityEnvironment()
    opened = await environment.run(
        activities.open_inquiry, OpenInquiryInput(await requested_ask(engine))
    )
    assert opened.inquiry is not None
    inquiry_id = opened.inquiry.inquiry_id

    answered = await environment.run(
        activities.record_response, RecordResponseInput(inquiry_id, "alice", {"ok": 1})
    )
    answered_again = await environment.run(
        activities.record_response, RecordResponseInput(inquiry_id, "bob", {"ok": 2})
    )
    expired = await environment.run(
        activities.close_inquiry, CloseInquiryInput(inquiry_id, "timeout")
    )

    assert (answered.status, answered.changed) == ("responded", True)
    assert (answered_again.status, answered_again.changed) == ("responded", False)
    assert (expired.status, expired.changed) == ("responded", False)
    async with create_session_factory(engine)() as session:
        row = await inquiries.repository.get(session, id=inquiry_id)
    assert (row.responder, row.response) == ("alice", {"ok": 1})


async def test_finishing_a_cancelled_ask_cancels_its_pending_inquiry(
    engine: AsyncEngine, activities: InquiryActivities
) -> None:
    execution_id = await requested_ask(engine)
    environment = ActivityEnvironment()
    opened = await environment.run(activities.open_inquiry, OpenInquiryInput(execution_id))
    assert opened.inquiry is not None

    outcome = await environment.run(
        activities.finish_ask, FinishAskInput(execution_id, cancelled=True)
    )

    assert outcome.status == "cancelled"
    async with create_session_factory(engine)() as session:
        row = await inquiries.repository.get(session, id=opened.inquiry.inquiry_id)
    assert row.status == "cancelled"


async def test_an_inquirer_action_with_a_secret_parameter_asks_with_its_value(
    engine: AsyncEngine,
) -> None:
    # Any pack may declare an inquirer action; one may mark a parameter secret, like any.
    schema = parameters_schema(
        {"prompt": {"type": "string", "secret": True}, "ttl": {"type": "integer"}},
        where="parameters",
    )
    async with create_session_factory(engine).begin() as session:
        action = await make_action(session, runner_type="inquirer", parameters=schema)
        row = await request_execution(
            session,
            action=action,
            parameters={"prompt": "Rotate the token ending 4f2a?", "ttl": 60},
            encryption_key=KEY,
        )
    stored = row.execution.parameters
    with_key = InquiryActivities(create_session_factory(engine), encryption_key=KEY)

    opened = await ActivityEnvironment().run(
        with_key.open_inquiry, OpenInquiryInput(row.execution.id)
    )

    assert stored["prompt"] == "********"
    assert opened.inquiry is not None
    async with create_session_factory(engine)() as session:
        [inquiry] = await inquiries.list_by_execution(session, execution_id=row.execution.id)
    assert inquiry.prompt == "Rotate the token ending 4f2a?"


async def test_an_inquirer_run_without_the_key_fails_saying_so(
    engine: AsyncEngine, activities: InquiryActivities
) -> None:
    schema = parameters_schema({"prompt": {"type": "string", "secret": True}}, where="p")
    async with create_session_factory(engine).begin() as session:
        action = await make_action(session, runner_type="inquirer", parameters=schema)
        row = await request_execution(
            session, action=action, parameters={"prompt": "?"}, encryption_key=KEY
        )

    opened = await ActivityEnvironment().run(
        activities.open_inquiry, OpenInquiryInput(row.execution.id)
    )

    assert opened.outcome is not None
    assert opened.outcome.status == "failed"
    assert "ATTUNE_ENCRYPTION_KEY" in (opened.outcome.error or "")
