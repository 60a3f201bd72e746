"""Running actions by hand: parameters, timeout, cancel, and a worker lost mid-run.

"No process left" is checked by pid: the action's script writes its own pid and the pids
of the children it leaves running, and after the execution ends none may be alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from attune.config import Settings
from attune.engine.execution_requests import find_runnable_action, request_execution
from db.engine import create_session_factory
from db.repositories import action as actions
from tests.conftest import TemporalServer, make_worker
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.worker_processes import worker_process

# Leaves two sleeping children in its process group and sleeps itself.
LINGER = """#!/bin/sh
sleep 300 &
first=$!
sleep 300 &
echo "$$ $first $!" > "$ATTUNE_PARAM_PIDFILE"
wait
"""


async def linger_action(api: httpx.AsyncClient, tmp_path: Path, *, action_timeout: int) -> str:
    ref = unique("pk")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "linger": {
                "runner_type": "local-shell-script",
                "entry_point": "linger.sh",
                "timeout": action_timeout,
                "parameters": {"pidfile": {"type": "string", "required": True}},
            }
        },
        scripts={"linger.sh": LINGER},
    )
    await register_pack(api, folder)
    return f"{ref}.linger"


async def run_linger(
    api: httpx.AsyncClient, tmp_path: Path, *, action_timeout: int
) -> tuple[int, Path]:
    """Start the lingering action; return its execution id once its pids are written."""
    action = await linger_action(api, tmp_path, action_timeout=action_timeout)
    pidfile = tmp_path / f"{unique()}.pids"
    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"pidfile": str(pidfile)}}
    )
    assert response.status_code == 201, response.text
    execution_id: int = response.json()["id"]
    await wait_for_status(api, execution_id, {"running"})
    for _ in range(100):
        if pidfile.exists() and len(pidfile.read_text().split()) == 3:
            break
        await asyncio.sleep(0.05)
    return execution_id, pidfile


def alive(pidfile: Path) -> list[int]:
    """The pids in the file that still run (a zombie waiting to be reaped is not running)."""
    living = []
    for pid in map(int, pidfile.read_text().split()):
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
    return living


@pytest.mark.usefixtures("worker")
async def test_a_manual_run_validates_fills_defaults_and_completes(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/executions", json={"action": "core.echo", "parameters": {"message": "hi"}}
    )

    assert response.status_code == 201, response.text
    created = response.json()
    # The workflow exists before the answer: `scheduled`, unless the worker already claimed it.
    assert created["status"] in {"scheduled", "running", "completed"}
    assert created["scheduled_at"] is not None
    assert created["executor_id"] is not None
    execution = await wait_for_status(api, created["id"])
    assert execution["status"] == "completed"
    assert execution["result"]["result"] == "hi"


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({}, "message"),
        ({"message": 3}, "message"),
        ({"message": "x", "colour": "red"}, "colour"),
    ],
)
async def test_a_bad_parameter_is_a_422_naming_it(
    api: httpx.AsyncClient, parameters: dict[str, object], field: str
) -> None:
    response = await api.post(
        "/api/v1/executions", json={"action": "core.echo", "parameters": parameters}
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == field
    assert field in response.json()["error"]["message"]


async def test_an_unknown_action_is_a_404_naming_it(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/executions", json={"action": "core.nothing"})

    assert response.status_code == 404
    assert "core.nothing" in response.json()["error"]["message"]


@pytest.mark.usefixtures("worker")
async def test_timeout_ends_the_execution_and_every_process_of_the_action(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    execution_id, pidfile = await run_linger(api, tmp_path, action_timeout=1)
    assert alive(pidfile)

    execution = await wait_for_status(api, execution_id, within=20)

    assert execution["status"] == "timeout"
    assert "timed out" in execution["error"]
    assert alive(pidfile) == []


@pytest.mark.usefixtures("worker")
async def test_cancel_ends_the_execution_and_every_process_of_the_action(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    execution_id, pidfile = await run_linger(api, tmp_path, action_timeout=300)

    response = await api.post(f"/api/v1/executions/{execution_id}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == "canceling"
    execution = await wait_for_status(api, execution_id, within=20)
    assert execution["status"] == "cancelled"
    assert alive(pidfile) == []
    # The run records `cancelled` before its workflow closes (which takes one more task).
    handle = temporal.client.get_workflow_handle(execution["workflow_id"])
    with pytest.raises(WorkflowFailureError) as closed:
        await asyncio.wait_for(handle.result(), 10)
    assert isinstance(closed.value.cause, CancelledError)
    again = await api.post(f"/api/v1/executions/{execution_id}/cancel")
    assert again.status_code == 409
    assert "cancelled" in again.json()["error"]["message"]


async def test_a_worker_shut_down_mid_action_leaves_a_terminal_execution(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with make_worker(temporal, engine, settings):
        execution_id, pidfile = await run_linger(api, tmp_path, action_timeout=300)
    # The first worker is gone; a new one finishes the workflow.
    async with make_worker(temporal, engine, settings):
        execution = await wait_for_status(api, execution_id, within=30)
        handle = temporal.client.get_workflow_handle(execution["workflow_id"])
        await handle.result()

    assert execution["status"] == "abandoned"
    assert "worker" in execution["error"]
    assert alive(pidfile) == []


async def test_a_killed_worker_process_leaves_a_terminal_execution(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    async with worker_process(settings, temporal, tmp_path / "worker"):  # SIGKILLed at the end
        execution_id, pidfile = await run_linger(api, tmp_path, action_timeout=300)

    # Every process of the action dies with the worker (its guard sees to it)...
    async with make_worker(temporal, engine, settings):
        # ...and Temporal notices the silent worker after the heartbeat timeout (3 s here).
        execution = await wait_for_status(api, execution_id, within=45)

    assert execution["status"] == "abandoned"
    assert "stopped responding" in execution["error"]
    assert alive(pidfile) == []


async def test_a_disabled_action_refuses_runs(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    action = await linger_action(api, tmp_path, action_timeout=5)
    async with create_session_factory(engine).begin() as session:
        row = await actions.repository.get_by_key(session, action)
        await actions.repository.update(session, id=row.id, changes={"enabled": False})

    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": {"pidfile": "/dev/null"}}
    )

    assert response.status_code == 409
    assert action in response.json()["error"]["message"]


async def test_cancelling_an_execution_whose_workflow_never_started(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Written as the API would, but its workflow was never started (no reconciler here).
    async with create_session_factory(engine).begin() as session:
        echo = await find_runnable_action(session, "core.echo")
        row = (await request_execution(session, action=echo, parameters={"message": "x"})).execution

    response = await api.post(f"/api/v1/executions/{row.id}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert response.json()["error"] == "cancelled by request before its workflow started"
    assert response.json()["ended_at"] is not None
