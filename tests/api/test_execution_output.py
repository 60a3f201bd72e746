"""An execution's output while it runs, through a real API server and worker: read after a
cursor, streamed as Server-Sent Events until the end, resumed with Last-Event-ID, and
followed by `attune execution tail` and `attune run --watch`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import RunAttune
from tests.executions import wait_for_status
from tests.polling import until

api_url = test_cli_inquiries.api_url
attune = test_cli_inquiries.attune
pytestmark = pytest.mark.usefixtures("worker")

SLOW = "echo one; sleep 2; echo two >&2; echo three"


async def start(api: httpx.AsyncClient, command: str) -> int:
    created = await api.post(
        "/api/v1/executions", json={"action": "core.local", "parameters": {"cmd": command}}
    )
    assert created.status_code == 201, created.text
    execution_id: int = created.json()["id"]
    return execution_id


async def test_output_is_readable_while_the_action_runs_and_after_a_cursor(
    api: httpx.AsyncClient,
) -> None:
    execution_id = await start(api, SLOW)
    path = f"/api/v1/executions/{execution_id}/output"
    early: dict[str, Any] = {}

    async def first_line_written() -> bool:
        page = (await api.get(path)).json()
        early.update(page)
        return bool(page["items"])

    await until(first_line_written, within=30, what="the first line")

    assert early["status"] == "running"
    assert early["ended"] is False
    assert [(p["stream"], p["text"]) for p in early["items"]] == [("stdout", "one\n")]
    assert (await wait_for_status(api, execution_id))["status"] == "completed"
    whole = (await api.get(path)).json()
    later = (await api.get(path, params={"after": early["next_after"]})).json()
    assert whole["ended"] is True
    assert "".join(p["text"] for p in whole["items"] if p["stream"] == "stdout") == "one\nthree\n"
    assert [p["text"] for p in later["items"]] == [
        p["text"] for p in whole["items"] if p["id"] > early["next_after"]
    ]
    assert "one\n" not in [p["text"] for p in later["items"]]
    missing = await api.get("/api/v1/executions/999999999/output")
    assert missing.status_code == 404


async def test_the_stream_sends_lines_as_they_come_ends_with_the_execution_and_resumes(
    api: httpx.AsyncClient, api_url: str, admin_token: str
) -> None:
    execution_id = await start(api, SLOW)
    headers = {"Authorization": f"Bearer {admin_token}"}
    url = f"{api_url}/api/v1/executions/{execution_id}/output/stream"
    events: list[tuple[str, str, dict[str, str]]] = []
    status_at_first = None
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
        aconnect_sse(client, "GET", url, headers=headers) as source,
    ):
        assert source.response.status_code == 200
        async for event in source.aiter_sse():
            events.append((event.event, event.id, json.loads(event.data)))
            if status_at_first is None:
                status_at_first = (await api.get(f"/api/v1/executions/{execution_id}")).json()[
                    "status"
                ]

    assert status_at_first == "running"  # the first line came before the end
    assert events[-1][0] == "end"
    assert events[-1][2] == {"status": "completed"}
    outputs = [(data["stream"], data["text"]) for kind, _, data in events if kind == "output"]
    assert outputs[0] == ("stdout", "one\n")
    assert "".join(text for stream, text in outputs if stream == "stdout") == "one\nthree\n"
    assert "".join(text for stream, text in outputs if stream == "stderr") == "two\n"
    first_id = events[0][1]
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
        aconnect_sse(client, "GET", url, headers={**headers, "Last-Event-ID": first_id}) as again,
    ):
        resumed = [(event.event, event.id) async for event in again.aiter_sse()]
    assert [id for kind, id in resumed if kind == "output"] == [
        id for kind, id, _ in events[1:] if kind == "output"
    ]
    assert resumed[-1][0] == "end"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 401


async def test_tail_and_a_watched_run_print_the_output_once_as_it_comes(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    execution_id = await start(api, "echo first; sleep 1; echo second; exit 4")

    tailed = await attune("execution", "tail", str(execution_id))
    watched = await attune("run", "core.local", "cmd=echo alpha; sleep 1; echo beta >&2", "--watch")

    assert tailed.code == 1  # it failed: exit code 4
    assert tailed.stdout == "first\nsecond\n"
    assert f"execution {execution_id}: failed" in tailed.stderr
    assert watched.code == 0, watched.stderr
    # Live, and not again in the ending's view.
    assert [line.strip() for line in watched.stdout.splitlines()].count("alpha") == 1
    assert "beta" in watched.stderr
    assert "completed" in watched.stdout
