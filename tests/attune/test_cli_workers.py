"""`attune worker list` against a real API server over HTTP."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from attune.cli_workers import worker_app
from db.repositories import worker as workers
from tests.attune import test_cli_inquiries
from tests.db.factories import unique
from tests.db.factories_definitions import make_worker

# The API on a free port, as the inquiry CLI's tests serve it.
api_url = test_cli_inquiries.api_url


async def worker_list(api_url: str, token: str, *arguments: str) -> Result:
    """Run `worker list ARGUMENTS` in a thread: the CLI's HTTP calls are blocking ones."""
    environment = {"ATTUNE_API_URL": api_url, "ATTUNE_API_TOKEN": token, "COLUMNS": "200"}
    return await asyncio.to_thread(
        CliRunner().invoke, worker_app, ["list", *arguments], env=environment
    )


async def two_workers(session: AsyncSession) -> tuple[str, str]:
    """One worker beating on time and one stopped, committed; their names."""
    alive, stopped = unique("alive-"), unique("stopped-")
    beating = await make_worker(session, name=alive, heartbeat_seconds=3600.0, task_queues=["q"])
    await workers.heartbeat(session, id=beating.id)
    gone = await make_worker(session, name=stopped, heartbeat_seconds=3600.0)
    await workers.mark_stopped(session, id=gone.id)
    await session.commit()
    return alive, stopped


async def test_the_table_shows_each_worker_with_its_state(
    api_url: str, admin_token: str, session: AsyncSession
) -> None:
    alive, stopped = await two_workers(session)

    ran = await worker_list(api_url, admin_token)

    assert ran.exit_code == 0, ran.output
    lines = ran.output.splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATE",
        "TASK",
        "QUEUES",
        "VERSION",
        "STARTED",
        "LAST",
        "HEARTBEAT",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[alive][1:3] == ["alive", "q"]
    assert rows[stopped][1] == "inactive"


async def test_json_output_is_the_apis_items_and_filters_by_state(
    api_url: str, admin_token: str, session: AsyncSession
) -> None:
    alive, stopped = await two_workers(session)

    ran = await worker_list(api_url, admin_token, "--state", "alive", "-o", "json")

    assert ran.exit_code == 0, ran.output
    items = json.loads(ran.output)
    names = [item["name"] for item in items]
    assert alive in names
    assert stopped not in names
    assert {item["state"] for item in items} == {"alive"}


async def test_a_refused_call_prints_the_apis_message_and_exits_1(api_url: str) -> None:
    ran = await worker_list(api_url, "not-a-token")

    assert ran.exit_code == 1
    assert "attune:" in ran.output
