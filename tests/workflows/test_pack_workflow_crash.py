"""A pack workflow outlives the worker running it: SIGKILL while it sleeps, and again while
it waits for a person; the next worker carries it on to the result an undisturbed run has."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.config import Settings
from tests.conftest import TemporalServer, make_worker
from tests.inquiries import wait_for_inquiry
from tests.polling import until
from tests.worker_processes import start_worker_process
from tests.workflows.pack_workflows import (
    children_of,
    finished,
    pack_with,
    run_workflow,
)

FLOW = """
from attune.sdk import ask, run_action, sleep

class Flow:
    async def run(self) -> list:
        first = await run_action("PACK.step", {"label": "before"})
        await sleep(3)
        second = await run_action("PACK.step", {"label": "after"})
        answer = await ask("Carry on?", ttl=600)
        return [first["result"]["label"], second["result"]["label"], answer]
"""


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


async def test_sigkill_of_the_worker_while_it_sleeps_and_while_it_asks_loses_nothing(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", FLOW)
    first_worker = await start_worker_process(settings, temporal, tmp_path / "first")
    try:
        parent_id = await run_workflow(api, f"{ref}.flow")

        async def sleeping() -> bool:
            children = await children_of(api, parent_id)
            return len(children) == 1 and children[0]["status"] == "completed"

        await until(sleeping, within=60, what="the workflow reaching its sleep")
    finally:
        await kill(first_worker)

    second_worker = await start_worker_process(settings, temporal, tmp_path / "second")
    try:
        inquiry = await wait_for_inquiry(api, parent_id, within=60)
    finally:
        await kill(second_worker)

    async with make_worker(temporal, engine, settings):
        answered = await api.post(
            f"/api/v1/inquiries/{inquiry['id']}/respond", json={"response": {"go": True}}
        )
        assert answered.status_code == 200, answered.text
        parent = await finished(api, parent_id, within=60)

    assert parent["status"] == "completed", parent
    assert parent["result"] == ["before", "after", {"go": True}]
    children = await children_of(api, parent_id)
    assert [child["status"] for child in children] == ["completed", "completed"]
