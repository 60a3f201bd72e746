"""Attune's own triggers on real servers: rules chained on `core.execution_finished`
(and kept from looping), and `core.inquiry_created`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from attune.engine.event_sources import run_event_sources
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from db.models import SystemEvent
from tests.conftest import TemporalServer
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.workflows.pack_workflows import FLOW_FILE, workflow_action, write_workflow_pack

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def dispatching(
    engine: AsyncEngine, temporal: TemporalServer, settings: Settings
) -> AsyncIterator[None]:
    """What every worker runs beside its tasks, less reconciling: Attune's own triggers
    become events."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_event_sources(
            create_session_factory(engine),
            WorkflowStarter.from_settings(temporal.client, settings),
            stop=stop,
            encryption_key=settings.encryption_key_bytes,
            # Not the timers and sensors of every test in the shared database.
            resync_interval=None,
        )
    )
    yield
    stop.set()
    await task


@pytest.fixture
async def listening_rules(api: httpx.AsyncClient) -> AsyncIterator[list[str]]:
    """Rules on `core.execution_finished` the test makes: disabled when it ends, since a
    rule that matches every ending would otherwise fire on the next tests' executions."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        response = await api.patch(f"/api/v1/rules/{ref}", json={"enabled": False})
        assert response.status_code == 200, response.text


async def executions_of(api: httpx.AsyncClient, rule: str) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/executions", params={"limit": 200})
    return [row for row in response.json()["items"] if row["rule_ref"] == rule]


async def wait_for_runs(
    api: httpx.AsyncClient, rule: str, count: int, *, within: float = 20
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while len(found := await executions_of(api, rule)) < count:
        assert time.monotonic() < deadline, f"{len(found)} of {count} runs of {rule}"
        await asyncio.sleep(0.2)
    return found


def chained_pack(root: Path, ref: str | None = None, **follow_up: Any) -> str:
    """`first` echoes a webhook's text; `then` runs on `first`'s end, echoing its result."""
    ref = ref or unique("ch")
    write_pack(
        root,
        ref,
        triggers={"hook": {"type": "webhook"}},
        rules={
            "first": {
                "trigger": f"{ref}.hook",
                "action": {"ref": "core.echo", "parameters": {"message": "{{ trigger.text }}"}},
            },
            "then": {
                "trigger": "core.execution_finished",
                "criteria": {"trigger.rule": {"type": "equals", "pattern": f"{ref}.first"}},
                "action": {
                    "ref": "core.echo",
                    "parameters": {"message": "{{ trigger.status }}: {{ trigger.result.result }}"},
                },
            }
            | follow_up,
        },
    )
    return ref


@pytest.mark.usefixtures("dispatching")
async def test_execution_finished_fires_a_rule_with_the_first_executions_result(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = chained_pack(tmp_path)
    await register_pack(api, tmp_path / ref)

    hook = await api.post(f"/api/v1/webhooks/{ref}.hook", json={"text": "disk full"})
    [first_id] = hook.json()["execution_ids"]
    first = await wait_for_status(api, first_id)

    [then] = await wait_for_runs(api, f"{ref}.then", 1)
    then = await wait_for_status(api, then["id"])
    assert then["parameters"] == {"message": "completed: disk full"}
    assert then["result"]["result"] == "completed: disk full"
    enforcement = (await api.get(f"/api/v1/enforcements/{then['enforcement_id']}")).json()
    payload = enforcement["payload"]
    assert payload["execution_id"] == first["id"]
    assert payload["action"] == "core.echo"
    assert payload["rule"] == f"{ref}.first"
    assert payload["parameters"] == {"message": "disk full"}
    assert payload["started_at"]
    assert payload["ended_at"]
    assert payload["chain"] == [f"{ref}.first"]


@pytest.mark.usefixtures("dispatching")
async def test_a_rule_on_every_finished_execution_does_not_fire_on_its_own(
    api: httpx.AsyncClient, tmp_path: Path, listening_rules: list[str]
) -> None:
    # `then` matches every ending, its own executions' included, were it not for chains.
    ref = chained_pack(tmp_path, criteria={})
    listening_rules.append(f"{ref}.then")
    await register_pack(api, tmp_path / ref)

    await api.post(f"/api/v1/webhooks/{ref}.hook", json={"text": "once"})
    await wait_for_runs(api, f"{ref}.then", 1)
    await asyncio.sleep(4)  # several dispatch passes: a loop would have run by now

    runs = await executions_of(api, f"{ref}.then")
    own = [run for run in runs if "once" in str(run["parameters"])]
    assert len(own) == 1, runs


@pytest.mark.usefixtures("dispatching")
async def test_a_rule_that_asks_for_loops_loops_but_no_further_than_the_chain_limit(
    api: httpx.AsyncClient, tmp_path: Path, listening_rules: list[str]
) -> None:
    ref = unique("ch")
    listening_rules.append(f"{ref}.then")
    # `then` follows every chain `first` began, its own links included.
    chained_pack(
        tmp_path,
        ref,
        trigger={"type": "core.execution_finished", "parameters": {"loops": True}},
        criteria={"trigger.chain": {"type": "contains", "pattern": f"{ref}.first"}},
    )
    await register_pack(api, tmp_path / ref)

    await api.post(f"/api/v1/webhooks/{ref}.hook", json={"text": "again"})

    runs = await wait_for_runs(api, f"{ref}.then", 9, within=40)
    await asyncio.sleep(3)
    assert len(await executions_of(api, f"{ref}.then")) == 9 == len(runs)  # 10 links: 1 + 9


async def test_nothing_is_queued_while_no_rule_listens(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    # No `dispatching` here: what the database queues stays to be counted.
    async with create_session_factory(engine)() as session:
        listening = await session.scalar(select(func.count()).select_from(SystemEvent))
    ref = unique("pk")
    folder = write_pack(tmp_path, ref, actions={})
    await register_pack(api, folder)
    created = await api.post("/api/v1/executions", json={"action": "core.noop", "parameters": {}})
    await wait_for_status(api, created.json()["id"])
    async with create_session_factory(engine)() as session:
        after = await session.scalar(select(func.count()).select_from(SystemEvent))
    # Rules of other tests may listen (their rows stay in the shared database); this
    # execution adds a row only if one does.
    assert after is not None
    assert listening is not None
    listeners = (
        await api.get("/api/v1/rules", params={"trigger": "core.execution_finished", "limit": 1000})
    ).json()["items"]
    if not any(rule["enabled"] for rule in listeners):
        assert after == listening


@pytest.mark.usefixtures("dispatching")
async def test_inquiry_created_fires_a_rule_with_the_prompt_and_assignees(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ref = unique("iq")
    write_pack(
        tmp_path,
        ref,
        rules={
            "notify": {
                "trigger": "core.inquiry_created",
                "criteria": {"trigger.prompt": {"type": "equals", "pattern": f"approve {ref}?"}},
                "action": {
                    "ref": "core.echo",
                    "parameters": {
                        "message": "{{ trigger.prompt }} for {{ trigger.assignees | join(',') }}"
                    },
                },
            }
        },
    )
    await register_pack(api, tmp_path / ref)

    asked = await api.post(
        "/api/v1/executions",
        json={
            "action": "core.ask",
            "parameters": {"prompt": f"approve {ref}?", "assignees": ["alice", "bob"]},
        },
    )
    assert asked.status_code == 201, asked.text

    [notify] = await wait_for_runs(api, f"{ref}.notify", 1)
    notify = await wait_for_status(api, notify["id"])
    assert notify["result"]["result"] == f"approve {ref}? for alice,bob"
    await api.post(f"/api/v1/executions/{asked.json()['id']}/cancel")


@pytest.mark.usefixtures("dispatching")
async def test_a_rule_running_a_workflow_does_not_fire_on_the_workflows_children(
    api: httpx.AsyncClient, tmp_path: Path, listening_rules: list[str]
) -> None:
    # `again` runs `flow` whenever `flow` or its child (core.echo) ends with this message:
    # were children not on their workflow's chain, each child would start a new `flow`.
    ref = unique("wf")
    message = f"hello {ref}"
    source = """
        from attune.sdk import run_action

        class Flow:
            async def run(self, message: str) -> str:
                return await run_action("core.echo", {"message": message})
    """
    write_workflow_pack(
        tmp_path,
        ref=ref,
        code={FLOW_FILE: source},
        actions={
            "flow": workflow_action(
                f"{FLOW_FILE}:Flow", {"message": {"type": "string", "required": True}}
            )
        },
        triggers={"hook": {"type": "webhook"}},
        rules={
            "first": {
                "trigger": f"{ref}.hook",
                "action": {"ref": f"{ref}.flow", "parameters": {"message": message}},
            },
            "again": {
                "trigger": "core.execution_finished",
                "criteria": {"trigger.parameters.message": {"type": "equals", "pattern": message}},
                "action": {"ref": f"{ref}.flow", "parameters": {"message": message}},
            },
        },
    )
    listening_rules.append(f"{ref}.again")
    await register_pack(api, tmp_path / ref)

    await api.post(f"/api/v1/webhooks/{ref}.hook", json={})

    # `first`'s flow and its child each end once: two runs of `again`, and no more.
    await wait_for_runs(api, f"{ref}.again", 2)
    await asyncio.sleep(5)
    assert len(await executions_of(api, f"{ref}.again")) == 2


@pytest.mark.usefixtures("dispatching")
async def test_a_rule_asking_on_every_new_inquiry_asks_once(
    api: httpx.AsyncClient, tmp_path: Path, listening_rules: list[str]
) -> None:
    ref = unique("iq")
    prompt = f"escalate {ref}"
    write_pack(
        tmp_path,
        ref,
        rules={
            "escalate": {
                "trigger": "core.inquiry_created",
                "criteria": {"trigger.prompt": {"type": "startswith", "pattern": prompt}},
                "action": {"ref": "core.ask", "parameters": {"prompt": f"{prompt} (lead)"}},
            }
        },
    )
    listening_rules.append(f"{ref}.escalate")
    await register_pack(api, tmp_path / ref)

    asked = await api.post(
        "/api/v1/executions", json={"action": "core.ask", "parameters": {"prompt": prompt}}
    )

    [escalated] = await wait_for_runs(api, f"{ref}.escalate", 1)
    await asyncio.sleep(4)  # its own question would have fired the rule again by now
    assert len(await executions_of(api, f"{ref}.escalate")) == 1
    for execution_id in (asked.json()["id"], escalated["id"]):
        await api.post(f"/api/v1/executions/{execution_id}/cancel")


@pytest.mark.usefixtures("dispatching")
async def test_a_row_that_makes_no_event_does_not_hold_back_the_others(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    lost = 2**62  # an execution that does not exist
    async with create_session_factory(engine).begin() as session:
        session.add(SystemEvent(trigger_ref="core.execution_finished", subject_id=lost))
        session.add(SystemEvent(trigger_ref="core.nothing", subject_id=1))
    ref = chained_pack(tmp_path)
    await register_pack(api, tmp_path / ref)

    await api.post(f"/api/v1/webhooks/{ref}.hook", json={"text": "behind"})

    [then] = await wait_for_runs(api, f"{ref}.then", 1)
    assert (await wait_for_status(api, then["id"]))["status"] == "completed"
    async with create_session_factory(engine)() as session:
        left = await session.scalars(
            select(SystemEvent).where(SystemEvent.subject_id.in_([lost, 1]))
        )
        assert list(left) == []
