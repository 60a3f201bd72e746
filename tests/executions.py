"""Waiting on executions through the API, as an operator's script would."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from temporalio.client import WorkflowHandle
from temporalio.worker import Replayer

from tests.conftest import TEST_DATA_CONVERTER
from workflows.execution import ExecutionWorkflow

TERMINAL = {"completed", "failed", "cancelled", "timeout", "abandoned"}


async def request_run(api: httpx.AsyncClient, action: str, parameters: dict[str, Any]) -> int:
    """`POST /executions`, insisting that it is accepted; the execution's id."""
    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": parameters}
    )
    assert response.status_code == 201, response.text
    execution_id: int = response.json()["id"]
    return execution_id


async def wait_for_status(
    api: httpx.AsyncClient,
    execution_id: int,
    statuses: set[str] = TERMINAL,
    *,
    within: float = 30.0,
    prefix: str = "/api/v1",
) -> dict[str, Any]:
    """Poll `GET /executions/{id}` until its status is in `statuses`, for `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        response = await api.get(f"{prefix}/executions/{execution_id}")
        assert response.status_code == 200, response.text
        execution: dict[str, Any] = response.json()
        if execution["status"] in statuses:
            return execution
        if time.monotonic() > deadline:
            raise AssertionError(
                f"execution {execution_id} still {execution['status']} after {within}s"
            )
        await asyncio.sleep(0.1)


async def assert_replays(handle: WorkflowHandle[Any, Any]) -> None:
    """The workflow's history replays on today's code: every path it took is deterministic.

    `attune.Execution` runs outside the sandbox (see docs/architecture.md), so replaying
    real histories is what guards its determinism.
    """
    history = await handle.fetch_history()
    await Replayer(
        workflows=[ExecutionWorkflow], data_converter=TEST_DATA_CONVERTER
    ).replay_workflow(history)
