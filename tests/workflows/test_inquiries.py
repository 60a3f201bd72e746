"""`workflows.inquiries.ask` in a workflow other than `attune.Execution`, kept open after
its inquiry ends, so each refusal is seen to come from the Update's validator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Worker

from activities.inquiries import InquiryActivities
from attune.engine.execution_requests import find_runnable_action, request_execution
from db.engine import create_session_factory
from tests.conftest import TemporalServer
from tests.inquiries import accepted_updates, inquiry_and_execution, wait_for_inquiry
from tests.workers import running
from tests.workflows.asking import AskThenLinger, AskThenLingerInput
from workflows.execution import workflow_id_for


@pytest.fixture
async def asking_worker(
    temporal: TemporalServer, engine: AsyncEngine, task_queue: str
) -> AsyncIterator[Worker]:
    activities = InquiryActivities(create_session_factory(engine))
    async with running(
        Worker(
            temporal.client,
            task_queue=task_queue,
            workflows=[AskThenLinger],
            activities=[
                activities.open_inquiry,
                activities.record_response,
                activities.close_inquiry,
            ],
        )
    ) as worker:
        yield worker


async def ask_then_linger(
    temporal: TemporalServer,
    engine: AsyncEngine,
    task_queue: str,
    *,
    ttl: int = 300,
    delay_seconds: float = 0.0,
) -> WorkflowHandle[AskThenLinger, str]:
    """An execution row of `core.ask`, run by `tests.AskThenLinger` under its workflow id."""
    parameters = {"prompt": "Linger?", "ttl": ttl}
    async with create_session_factory(engine).begin() as session:
        action = await find_runnable_action(session, "core.ask")
        execution = (
            await request_execution(session, action=action, parameters=parameters)
        ).execution
    return await temporal.client.start_workflow(
        AskThenLinger.run,
        AskThenLingerInput(execution.id, delay_seconds),
        id=workflow_id_for(execution.id),
        task_queue=task_queue,
    )


def execution_of(handle: WorkflowHandle[Any, Any]) -> int:
    return int(handle.id.removeprefix("execution-"))


async def respond(api: httpx.AsyncClient, inquiry_id: int, approve: bool) -> httpx.Response:
    return await api.post(
        f"/api/v1/inquiries/{inquiry_id}/respond", json={"response": {"approve": approve}}
    )


@pytest.mark.usefixtures("asking_worker")
async def test_a_second_answer_is_refused_by_the_validator(
    api: httpx.AsyncClient, temporal: TemporalServer, engine: AsyncEngine, task_queue: str
) -> None:
    handle = await ask_then_linger(temporal, engine, task_queue)
    inquiry = await wait_for_inquiry(api, execution_of(handle))
    first = await respond(api, inquiry["id"], True)
    assert first.status_code == 200, first.text
    before = await inquiry_and_execution(api, inquiry["id"], execution_of(handle))

    second = await respond(api, inquiry["id"], False)

    assert second.status_code == 409, second.text
    assert second.json()["error"]["details"] == {"id": inquiry["id"], "status": "responded"}
    assert "has been answered" in second.json()["error"]["message"]
    assert await inquiry_and_execution(api, inquiry["id"], execution_of(handle)) == before
    # Still open: the refusal came from the validator, and left no trace in the history.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert len(await accepted_updates(handle)) == 1
    await handle.signal(AskThenLinger.release)
    assert await handle.result() == "responded"


@pytest.mark.usefixtures("asking_worker")
async def test_an_answer_after_the_timeout_is_refused_by_the_validator(
    api: httpx.AsyncClient, temporal: TemporalServer, engine: AsyncEngine, task_queue: str
) -> None:
    handle = await ask_then_linger(temporal, engine, task_queue, ttl=1)
    inquiry = await wait_for_inquiry(api, execution_of(handle))
    deadline = time.monotonic() + 20
    while (await api.get(f"/api/v1/inquiries/{inquiry['id']}")).json()["status"] == "pending":
        assert time.monotonic() < deadline, "the inquiry never timed out"
        await asyncio.sleep(0.1)
    before = await inquiry_and_execution(api, inquiry["id"], execution_of(handle))

    late = await respond(api, inquiry["id"], True)

    assert late.status_code == 409, late.text
    assert late.json()["error"]["details"] == {"id": inquiry["id"], "status": "timeout"}
    assert "expired" in late.json()["error"]["message"]
    assert await inquiry_and_execution(api, inquiry["id"], execution_of(handle)) == before
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert await accepted_updates(handle) == []
    await handle.signal(AskThenLinger.release)
    assert await handle.result() == "timeout"


@pytest.mark.usefixtures("asking_worker")
async def test_an_answer_sent_before_the_workflow_listens_is_taken_once_it_does(
    api: httpx.AsyncClient, temporal: TemporalServer, engine: AsyncEngine, task_queue: str
) -> None:
    # The inquiry row exists a second before its Update is registered.
    handle = await ask_then_linger(temporal, engine, task_queue, delay_seconds=1.0)
    inquiry = await wait_for_inquiry(api, execution_of(handle))

    answered = await respond(api, inquiry["id"], True)

    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "responded"
    await handle.signal(AskThenLinger.release)
    assert await handle.result() == "responded"
