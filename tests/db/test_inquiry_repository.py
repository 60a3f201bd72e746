"""Inquiry repository against the real PostgreSQL: executions waiting for a response."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import null
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Inquiry, InquiryStatus
from db.repositories import execution, inquiry
from tests.db.factories import json_type, make_execution
from tests.db.factories_history import ids, make_inquiry, newest_first, walk_back


async def test_create_with_every_field_and_read_back(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    timeout_at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    responded_at = timeout_at - timedelta(minutes=1)
    schema = {"type": "object", "properties": {"approve": {"type": "boolean"}}}
    created = await inquiry.repository.create(
        session,
        execution_id=an_execution.id,
        prompt="Deploy to production?",
        response_schema=schema,
        assignees=["alice", "ops-team"],
        status=InquiryStatus.RESPONDED,
        response={"approve": True},
        responder="alice",
        timeout_at=timeout_at,
        responded_at=responded_at,
    )
    read = await inquiry.repository.get(session, id=created.id)
    assert read.execution_id == an_execution.id
    assert read.prompt == "Deploy to production?"
    assert read.response_schema == schema
    assert read.assignees == ["alice", "ops-team"]
    assert read.status is InquiryStatus.RESPONDED
    assert read.response == {"approve": True}
    assert read.responder == "alice"
    assert read.timeout_at == timeout_at
    assert read.responded_at == responded_at


async def test_create_minimal_gets_database_defaults(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    created = await inquiry.repository.create(
        session, execution_id=an_execution.id, prompt="Continue?"
    )
    assert created.id > 0
    assert created.response_schema == {}
    assert created.assignees == []
    assert created.status is InquiryStatus.PENDING
    assert created.response is None
    assert await json_type(session, Inquiry.response, created.id) is None
    assert created.responder is None
    assert created.timeout_at is None
    assert created.responded_at is None
    assert created.created == created.updated


async def test_find_get_update_delete_missing(session: AsyncSession) -> None:
    assert await inquiry.repository.find(session, id=2**62) is None
    with pytest.raises(errors.NotFound, match=f"inquiry {2**62} not found"):
        await inquiry.repository.get(session, id=2**62)
    with pytest.raises(errors.NotFound):
        await inquiry.repository.update(session, id=2**62, changes={"responder": "x"})
    assert await inquiry.repository.delete(session, id=2**62) is False


async def test_delete_says_whether_a_row_went(session: AsyncSession) -> None:
    created = await make_inquiry(session)
    assert await inquiry.repository.delete(session, id=created.id) is True
    assert await inquiry.repository.find(session, id=created.id) is None
    assert await inquiry.repository.delete(session, id=created.id) is False
    # The execution stays.
    assert await execution.repository.find(session, id=created.execution_id) is not None


async def test_responding_advances_updated(session: AsyncSession) -> None:
    created = await make_inquiry(session)
    first_created, first_updated = created.created, created.updated
    await asyncio.sleep(0.01)
    updated = await inquiry.repository.update(
        session,
        id=created.id,
        changes={
            "status": InquiryStatus.RESPONDED,
            "response": {"answer": "yes"},
            "responder": "bob",
            "responded_at": datetime.now(UTC),
        },
    )
    assert updated.status is InquiryStatus.RESPONDED
    assert updated.response == {"answer": "yes"}
    assert updated.prompt == created.prompt
    assert updated.updated > first_updated
    assert updated.created == first_created


@pytest.mark.parametrize("status", list(InquiryStatus))
async def test_every_status_is_stored(session: AsyncSession, status: InquiryStatus) -> None:
    created = await make_inquiry(session, status=status)
    read = await inquiry.repository.get(session, id=created.id)
    assert read.status is status
    assert created.id in ids(await inquiry.list_by_status(session, status=status, limit=1000))


async def test_unknown_status_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="inquiry_status") as raised:
        await make_inquiry(session, status="answered")
    assert raised.value.details["sqlstate"] == "22P02"


async def test_list_by_status_is_newest_first_and_filters(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    pending = [await make_inquiry(session, of=an_execution) for _ in range(3)]
    cancelled = await make_inquiry(session, of=an_execution, status=InquiryStatus.CANCELLED)
    mine = set(ids(pending))
    listed = await inquiry.list_by_status(session, status=InquiryStatus.PENDING, limit=1000)
    assert all(found.status is InquiryStatus.PENDING for found in listed)
    assert ids(listed) == sorted(ids(listed), reverse=True)
    assert [i for i in ids(listed) if i in mine] == newest_first(pending)
    assert cancelled.id not in ids(listed)
    page = await inquiry.list_by_status(
        session, status=InquiryStatus.PENDING, limit=2, before_id=pending[2].id
    )
    assert ids(page) == [pending[1].id, pending[0].id]
    assert await inquiry.list_by_status(session, status=InquiryStatus.PENDING, before_id=1) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await inquiry.list_by_status(session, status=InquiryStatus.PENDING, limit=0)


async def test_list_by_execution_is_newest_first_and_pages_back(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    other = await make_inquiry(session)
    ours = [await make_inquiry(session, of=an_execution, prompt=f"q{n}") for n in range(5)]
    listed = await inquiry.list_by_execution(session, execution_id=an_execution.id)
    assert ids(listed) == newest_first(ours)
    assert listed[0].prompt == "q4"
    assert other.id not in ids(listed)
    walked = await walk_back(
        lambda before: inquiry.list_by_execution(
            session, execution_id=an_execution.id, limit=2, before_id=before
        )
    )
    assert walked == newest_first(ours)
    quiet = await make_execution(session)
    assert await inquiry.list_by_execution(session, execution_id=quiet.id) == []
    with pytest.raises(errors.ValidationError, match="limit"):
        await inquiry.list_by_execution(session, execution_id=quiet.id, limit=1001)


async def test_deleting_the_execution_deletes_its_inquiries(session: AsyncSession) -> None:
    an_execution = await make_execution(session)
    doomed = [await make_inquiry(session, of=an_execution) for _ in range(2)]
    survivor = await make_inquiry(session)
    assert await execution.repository.delete(session, id=an_execution.id) is True
    for gone in doomed:
        assert await inquiry.repository.find(session, id=gone.id) is None
    assert await inquiry.list_by_execution(session, execution_id=an_execution.id) == []
    assert await inquiry.repository.find(session, id=survivor.id) is not None


async def test_unknown_execution_is_a_validation_error(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        await inquiry.repository.create(session, execution_id=2**63 - 1, prompt="?")
    assert raised.value.details["constraint"] == "fk_inquiry_execution_id_execution"


@pytest.mark.parametrize("missing", ["execution_id", "prompt"])
async def test_missing_required_field_names_it(session: AsyncSession, missing: str) -> None:
    an_execution = await make_execution(session)
    values: dict[str, object] = {"execution_id": an_execution.id, "prompt": "?"}
    del values[missing]
    with pytest.raises(errors.ValidationError, match=f"{missing} is required") as raised:
        await inquiry.repository.create(session, **values)
    assert raised.value.details == {"field": missing}


async def test_response_json_null_sql_null_and_nested(session: AsyncSession) -> None:
    json_null = await make_inquiry(session, response=None)
    sql_null = await make_inquiry(session, response=null())
    nested = {"choices": [{"id": 1, "tags": ["a"]}, None], "free": {"text": "ü 🚀"}}
    full = await make_inquiry(session, response=nested, response_schema={})
    assert await json_type(session, Inquiry.response, json_null.id) == "null"
    assert await json_type(session, Inquiry.response, sql_null.id) is None
    read = await inquiry.repository.get(session, id=full.id)
    assert read.response == nested
    assert read.response_schema == {}
    with pytest.raises(errors.ValidationError, match="response_schema is required"):
        await make_inquiry(session, response_schema=null())


async def test_very_long_and_special_strings_round_trip(session: AsyncSession) -> None:
    long_prompt = "Why? " * 20_000
    special = "Ünïcödé 🚀 'quotes' \"double\" \\ back; DROP TABLE inquiry; --"
    assignees = ["a,b", "{}", "NULL", '"quoted"', special, ""]
    created = await make_inquiry(
        session, prompt=long_prompt, assignees=assignees, responder=special
    )
    read = await inquiry.repository.get(session, id=created.id)
    assert read.prompt == long_prompt
    assert read.assignees == assignees
    assert read.responder == special


async def test_an_answer_is_recorded_once(session: AsyncSession) -> None:
    pending = await make_inquiry(session)

    answered = await inquiry.record_response(
        session, id=pending.id, response={"approve": True}, responder="alice"
    )
    again = await inquiry.record_response(
        session, id=pending.id, response={"approve": False}, responder="bob"
    )

    assert answered is not None
    assert answered.status is InquiryStatus.RESPONDED
    assert answered.responded_at is not None
    assert again is None
    read = await inquiry.repository.get(session, id=pending.id)
    assert (read.responder, read.response) == ("alice", {"approve": True})


@pytest.mark.parametrize("ending", [InquiryStatus.TIMEOUT, InquiryStatus.CANCELLED])
async def test_closing_ends_only_a_pending_inquiry(
    session: AsyncSession, ending: InquiryStatus
) -> None:
    pending = await make_inquiry(session)
    answered = await make_inquiry(session, status=InquiryStatus.RESPONDED)

    closed = await inquiry.close(session, id=pending.id, status=ending)

    assert closed is not None
    assert closed.status is ending
    assert await inquiry.close(session, id=pending.id, status=ending) is None
    assert await inquiry.close(session, id=answered.id, status=ending) is None
    assert (await inquiry.repository.get(session, id=answered.id)).status is InquiryStatus.RESPONDED


async def test_cancelling_an_execution_cancels_only_its_pending_inquiries(
    session: AsyncSession,
) -> None:
    an_execution = await make_execution(session)
    pending = await make_inquiry(session, of=an_execution)
    answered = await make_inquiry(session, of=an_execution, status=InquiryStatus.RESPONDED)
    elsewhere = await make_inquiry(session)

    cancelled = await inquiry.cancel_pending_of_execution(session, execution_id=an_execution.id)

    assert cancelled == [pending.id]
    assert (await inquiry.repository.get(session, id=answered.id)).status is InquiryStatus.RESPONDED
    assert (await inquiry.repository.get(session, id=elsewhere.id)).status is InquiryStatus.PENDING


async def test_pending_by_execution_gives_each_execution_its_newest_pending_inquiry(
    session: AsyncSession,
) -> None:
    waiting, answered_one, quiet = [await make_execution(session) for _ in range(3)]
    await make_inquiry(session, of=waiting)
    newest = await make_inquiry(session, of=waiting)
    await make_inquiry(session, of=answered_one, status=InquiryStatus.RESPONDED)

    found = await inquiry.pending_by_execution(
        session, execution_ids=[waiting.id, answered_one.id, quiet.id]
    )

    assert {execution_id: row.id for execution_id, row in found.items()} == {waiting.id: newest.id}
    assert await inquiry.pending_by_execution(session, execution_ids=[]) == {}


async def test_list_for_api_filters_by_status_assignee_and_execution(session: AsyncSession) -> None:
    login = f"alice-{uuid.uuid4()}"
    an_execution = await make_execution(session)
    mine = await make_inquiry(session, of=an_execution, assignees=[login, "bob"])
    mine_done = await make_inquiry(session, assignees=[login], status=InquiryStatus.TIMEOUT)
    anyones = await make_inquiry(session, of=an_execution)

    assigned = await inquiry.list_for_api(session, assignee=login)
    assigned_pending = await inquiry.list_for_api(
        session, assignee=login, status=InquiryStatus.PENDING
    )
    of_execution = await inquiry.list_for_api(session, execution_id=an_execution.id)

    assert ids(assigned) == [mine_done.id, mine.id]
    assert ids(assigned_pending) == [mine.id]
    assert ids(of_execution) == [anyones.id, mine.id]
