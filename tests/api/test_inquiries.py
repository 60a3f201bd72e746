"""Inquiries over HTTP on real servers: `core.ask` waits in its workflow for a person.

"Nothing changed" is checked on both records, whole (their `updated` stamps included),
and on the workflow's history, which must hold no accepted Update for a refused answer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.worker import Worker

from attune.config import Settings
from tests.conftest import TemporalServer, make_worker
from tests.db.factories import unique
from tests.executions import assert_replays, wait_for_status
from tests.inquiries import (
    Person,
    accepted_updates,
    inquiry_and_execution,
    person,
    start_ask,
    wait_for_inquiry,
)
from tests.pack_folders import register_pack, write_pack


@pytest.fixture
async def alice(engine: AsyncEngine, settings: Settings) -> Any:
    async with person(engine, settings, "alice") as someone:
        yield someone


@pytest.fixture
async def bob(engine: AsyncEngine, settings: Settings) -> Any:
    async with person(engine, settings, "bob") as someone:
        yield someone


def workflow_of(temporal: TemporalServer, execution_id: int) -> WorkflowHandle[Any, Any]:
    return temporal.client.get_workflow_handle(f"execution-{execution_id}")


@pytest.mark.usefixtures("worker")
async def test_an_answer_resumes_the_execution_which_completes_with_it(
    api: httpx.AsyncClient, alice: Person, temporal: TemporalServer
) -> None:
    execution_id, inquiry = await start_ask(api, assignees=[alice.login], ttl=300)

    assert inquiry["status"] == "pending"
    assert inquiry["prompt"] == "Deploy to production?"
    assert inquiry["assignees"] == [alice.login]
    waiting = await wait_for_status(api, execution_id, {"running"})
    assert waiting["waiting_inquiry"]["id"] == inquiry["id"]
    since = datetime.fromisoformat(waiting["waiting_inquiry"]["since"])
    until = datetime.fromisoformat(waiting["waiting_inquiry"]["until"])
    assert 299 <= (until - since).total_seconds() <= 301

    answered = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond",
        json={"response": {"approve": True, "note": "go"}},
    )

    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "responded"
    assert answered.json()["responder"] == alice.login
    assert answered.json()["response"] == {"approve": True, "note": "go"}
    assert answered.json()["responded_at"] is not None
    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "completed"
    assert execution["result"]["response"] == {"approve": True, "note": "go"}
    assert execution["result"]["responder"] == alice.login
    assert execution["result"]["inquiry_id"] == inquiry["id"]
    assert execution["waiting_inquiry"] is None
    handle = workflow_of(temporal, execution_id)
    assert (await handle.result())["status"] == "completed"
    assert await accepted_updates(handle) == [f"attune.respond_inquiry.{inquiry['id']}"]
    await assert_replays(handle)


async def labels_of_the_wait(
    handle: WorkflowHandle[Any, Any], converter: DataConverter
) -> tuple[str, list[str]]:
    """What the Web UI shows: the workflow's current details and its timers' summaries."""
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    # Summaries are encrypted in the history, as every payload: decoded as the Web UI does.
    summaries = []
    async for event in handle.fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            [summary] = await converter.decode([event.user_metadata.summary], [str])
            summaries.append(summary)
    return metadata.current_details, summaries


@pytest.mark.usefixtures("worker")
async def test_the_web_ui_labels_the_wait_with_the_inquiry(
    api: httpx.AsyncClient, temporal: TemporalServer
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=300)

    details, timers = await labels_of_the_wait(
        workflow_of(temporal, execution_id), temporal.client.data_converter
    )

    assert f"inquiry {inquiry['id']}" in details
    assert timers == [f"inquiry {inquiry['id']} expires"]
    cancelled = await api.post(f"/api/v1/executions/{execution_id}/cancel")
    assert cancelled.status_code == 202


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize(
    ("response", "field"),
    [
        ({"approve": "yes"}, "response.approve"),
        ({"note": "no approve"}, "response.approve"),
        ({"approve": True, "colour": "red"}, "response"),
    ],
)
async def test_an_answer_that_breaks_the_schema_is_a_422_naming_the_field_and_changes_nothing(
    api: httpx.AsyncClient,
    alice: Person,
    temporal: TemporalServer,
    response: dict[str, Any],
    field: str,
) -> None:
    execution_id, inquiry = await start_ask(api, assignees=[alice.login], ttl=300)
    before = await inquiry_and_execution(api, inquiry["id"], execution_id)

    refused = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": response}
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"]["field"] == field
    assert field in refused.json()["error"]["message"]
    assert await inquiry_and_execution(api, inquiry["id"], execution_id) == before
    handle = workflow_of(temporal, execution_id)
    assert await accepted_updates(handle) == []
    await handle.cancel()


@pytest.mark.usefixtures("worker")
async def test_an_identity_that_is_not_an_assignee_gets_403_and_changes_nothing(
    api: httpx.AsyncClient, alice: Person, bob: Person, temporal: TemporalServer
) -> None:
    execution_id, inquiry = await start_ask(api, assignees=[alice.login], ttl=300)
    before = await inquiry_and_execution(api, inquiry["id"], execution_id)

    refused = await bob.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": True}}
    )

    assert refused.status_code == 403, refused.text
    assert bob.login in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"]["assignees"] == [alice.login]
    assert await inquiry_and_execution(api, inquiry["id"], execution_id) == before
    handle = workflow_of(temporal, execution_id)
    assert await accepted_updates(handle) == []
    # The inquiry is still open to the one it is assigned to.
    answered = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": False}}
    )
    assert answered.status_code == 200, answered.text
    assert (await wait_for_status(api, execution_id))["result"]["response"] == {"approve": False}


@pytest.mark.usefixtures("worker")
async def test_a_second_answer_is_a_409_and_changes_nothing(
    api: httpx.AsyncClient, alice: Person, bob: Person
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=300)
    first = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": True}}
    )
    assert first.status_code == 200, first.text
    await wait_for_status(api, execution_id)
    before = await inquiry_and_execution(api, inquiry["id"], execution_id)

    second = await bob.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": False}}
    )

    assert second.status_code == 409, second.text
    assert second.json()["error"]["details"]["status"] == "responded"
    assert "has been answered" in second.json()["error"]["message"]
    assert await inquiry_and_execution(api, inquiry["id"], execution_id) == before
    assert before[0]["responder"] == alice.login
    assert before[1]["result"]["response"] == {"approve": True}


@pytest.mark.usefixtures("worker")
async def test_an_unanswered_inquiry_times_out_and_refuses_a_late_answer(
    api: httpx.AsyncClient, alice: Person, temporal: TemporalServer
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=2)

    execution = await wait_for_status(api, execution_id, within=20)

    assert execution["status"] == "timeout"
    assert f"inquiry {inquiry['id']} expired" in execution["error"]
    assert execution["waiting_inquiry"] is None
    before = await inquiry_and_execution(api, inquiry["id"], execution_id)
    assert before[0]["status"] == "timeout"
    assert before[0]["response"] is None
    late = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": True}}
    )
    assert late.status_code == 409, late.text
    assert late.json()["error"]["details"]["status"] == "timeout"
    assert await inquiry_and_execution(api, inquiry["id"], execution_id) == before
    handle = workflow_of(temporal, execution_id)
    assert (await handle.result())["status"] == "timeout"
    assert await accepted_updates(handle) == []
    await assert_replays(handle)


@pytest.mark.usefixtures("worker")
async def test_cancelling_a_waiting_execution_cancels_its_inquiry(
    api: httpx.AsyncClient, alice: Person, temporal: TemporalServer
) -> None:
    execution_id, inquiry = await start_ask(api, ttl=300)

    cancelling = await api.post(f"/api/v1/executions/{execution_id}/cancel")

    assert cancelling.status_code == 202, cancelling.text
    execution = await wait_for_status(api, execution_id)
    assert execution["status"] == "cancelled"
    assert execution["waiting_inquiry"] is None
    cancelled = (await api.get(f"/api/v1/inquiries/{inquiry['id']}")).json()
    assert cancelled["status"] == "cancelled"
    handle = workflow_of(temporal, execution_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    await assert_replays(handle)
    late = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"approve": True}}
    )
    assert late.status_code == 409, late.text
    assert late.json()["error"]["details"]["status"] == "cancelled"


async def test_the_answer_still_resumes_the_execution_after_the_worker_restarts(
    api: httpx.AsyncClient,
    alice: Person,
    worker: Worker,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    execution_id, inquiry = await start_ask(api, assignees=[alice.login], ttl=300)
    await wait_for_status(api, execution_id, {"running"})

    await worker.shutdown()
    assert worker.is_shutdown
    async with make_worker(temporal, engine, settings):
        answered = await alice.api.post(
            f"/api/v1/inquiries/{inquiry['id']}/respond",
            json={"response": {"approve": True, "note": "after a restart"}},
        )
        assert answered.status_code == 200, answered.text
        execution = await wait_for_status(api, execution_id)

    assert execution["status"] == "completed"
    assert execution["result"]["response"] == {"approve": True, "note": "after a restart"}


@pytest.mark.usefixtures("worker")
async def test_two_waiting_inquiries_answered_in_the_opposite_order(
    api: httpx.AsyncClient, alice: Person
) -> None:
    first_execution, first = await start_ask(api, prompt="first?", ttl=300)
    second_execution, second = await start_ask(api, prompt="second?", ttl=300)

    for inquiry, note in ((second, "second answered first"), (first, "first answered last")):
        answered = await alice.api.post(
            f"/api/v1/inquiries/{inquiry['id']}/respond",
            json={"response": {"approve": True, "note": note}},
        )
        assert answered.status_code == 200, answered.text

    done_first = await wait_for_status(api, first_execution)
    done_second = await wait_for_status(api, second_execution)
    assert done_first["status"] == done_second["status"] == "completed"
    assert done_first["result"]["response"]["note"] == "first answered last"
    assert done_second["result"]["response"]["note"] == "second answered first"
    assert done_first["result"]["inquiry_id"] == first["id"]
    assert done_second["result"]["inquiry_id"] == second["id"]


@pytest.mark.usefixtures("worker")
async def test_inquiries_list_newest_first_filtered_by_status_and_assignee(
    api: httpx.AsyncClient, alice: Person, bob: Person
) -> None:
    _, for_anyone = await start_ask(api, ttl=300)
    _, for_alice = await start_ask(api, assignees=[alice.login], ttl=300)
    _, for_both = await start_ask(api, assignees=[alice.login, bob.login], ttl=300)

    pending = (await api.get("/api/v1/inquiries", params={"status": "pending"})).json()
    alices = (await api.get("/api/v1/inquiries", params={"assignee": alice.login})).json()
    bobs = (await api.get("/api/v1/inquiries", params={"assignee": bob.login})).json()

    ours = {for_anyone["id"], for_alice["id"], for_both["id"]}
    pending_ids = [item["id"] for item in pending["items"]]
    assert [i for i in pending_ids if i in ours] == [
        for_both["id"],
        for_alice["id"],
        for_anyone["id"],
    ]
    assert [item["id"] for item in alices["items"]] == [for_both["id"], for_alice["id"]]
    assert [item["id"] for item in bobs["items"]] == [for_both["id"]]
    answered = await bob.api.post(
        f"/api/v1/inquiries/{for_both['id']}/respond", json={"response": {"approve": True}}
    )
    assert answered.status_code == 200, answered.text
    still = (
        await api.get("/api/v1/inquiries", params={"status": "pending", "assignee": alice.login})
    ).json()
    assert [item["id"] for item in still["items"]] == [for_alice["id"]]
    for inquiry in (for_anyone, for_alice):
        cancelled = await api.post(f"/api/v1/executions/{inquiry['execution_id']}/cancel")
        assert cancelled.status_code == 202


async def test_an_unknown_inquiry_is_a_404(api: httpx.AsyncClient) -> None:
    shown = await api.get("/api/v1/inquiries/999999999")
    answered = await api.post("/api/v1/inquiries/999999999/respond", json={"response": {}})

    assert shown.status_code == answered.status_code == 404
    assert "inquiry 999999999 not found" in answered.json()["error"]["message"]


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"schema": {"type": "nonsense"}}, "schema.type"),
        ({"schema": {"$ref": "https://example.com/remote.json"}}, "schema"),
        ({"ttl": 0}, "ttl"),
        ({"ttl": -1}, "ttl"),
        ({"ttl": 2**63}, "ttl"),
        ({"assignees": ["alice", 7]}, "assignees"),
    ],
)
async def test_bad_ask_parameters_are_a_422_naming_them_and_write_nothing(
    api: httpx.AsyncClient, parameters: dict[str, Any], field: str
) -> None:
    newest = {"limit": 1}
    before = [
        item["id"] for item in (await api.get("/api/v1/executions", params=newest)).json()["items"]
    ]
    body = {"action": "core.ask", "parameters": {"prompt": "?"} | parameters}
    created = await api.post("/api/v1/executions", json=body)

    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert f"{field}:" in error["message"]
    assert error["details"]["field"] == field
    after = [
        item["id"] for item in (await api.get("/api/v1/executions", params=newest)).json()["items"]
    ]
    assert after == before


@pytest.mark.usefixtures("worker")
async def test_a_rule_can_ask_with_a_prompt_rendered_from_the_event(
    api: httpx.AsyncClient, alice: Person, tmp_path: Path
) -> None:
    ref = unique("pk")
    rule = {
        "trigger": f"{ref}.deploy_failed",
        "action": {
            "ref": "core.ask",
            "parameters": {
                "prompt": "Roll back {{ trigger.service }}?",
                "assignees": [alice.login],
                "ttl": 300,
            },
        },
    }
    folder = write_pack(
        tmp_path,
        ref,
        triggers={"deploy_failed": {"type": "webhook"}},
        rules={"ask_to_roll_back": rule},
    )
    await register_pack(api, folder)

    caused = await api.post(f"/api/v1/webhooks/{ref}.deploy_failed", json={"service": "checkout"})

    assert caused.status_code == 202, caused.text
    (execution_id,) = caused.json()["execution_ids"]
    inquiry = await wait_for_inquiry(api, execution_id)
    assert inquiry["prompt"] == "Roll back checkout?"
    answered = await alice.api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"roll_back": True}}
    )
    assert answered.status_code == 200, answered.text
    execution = await wait_for_status(api, execution_id)
    assert execution["rule_ref"] == f"{ref}.ask_to_roll_back"
    assert execution["result"]["response"] == {"roll_back": True}
