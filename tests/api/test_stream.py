"""`GET /api/v1/stream` on two API processes (one of them `python -m attune api`): a run's
status changes reach the clients of both, in order; `Last-Event-ID` resumes; filters and permissions
keep out what was not asked for or may not be seen; a sensor's status changes are told."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_sse import aconnect_sse
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.main import create_app
from attune.config import Settings
from db.models import Sensor
from tests.db.factories import make_pack, make_sensor, unique
from tests.executions import wait_for_status
from tests.fuzz_server import api_process
from tests.identities import make_identity, make_token
from tests.pack_folders import register_pack, write_pack
from tests.servers import free_ports

pytestmark = pytest.mark.usefixtures("worker")
Events = list[dict[str, Any]]


@pytest.fixture
async def two_apis(
    settings: Settings, admin_token: str, tmp_path: Path
) -> AsyncIterator[list[str]]:
    """Two API processes, each with its own hub and LISTEN: this one's, served by uvicorn
    on a free port, and `python -m attune api` in a process of its own."""
    here, there = free_ports(2)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=here, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    with contextlib.ExitStack() as stack:
        other = settings.model_copy(update={"api_port": there, "data_dir": tmp_path / "other"})
        process = api_process(other, admin_token, log=tmp_path / "other-api.log")
        running = await asyncio.to_thread(stack.enter_context, process)
        while not server.started:
            assert not serving.done(), "the API server did not start"
            await asyncio.sleep(0.05)
        yield [f"http://127.0.0.1:{here}", running.base_url]
        server.should_exit = True
        await serving


async def listen(
    url: str,
    token: str,
    until: Any,
    *,
    params: dict[str, Any] | None = None,
    after: str | None = None,
) -> Events:
    """The stream's events (and `lost`) until `until(events)` holds, or the stream's own
    end: every stream here asks to end after 20 s."""
    headers = {"Authorization": f"Bearer {token}"} | ({"Last-Event-ID": after} if after else {})
    events: Events = []
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as client,
        aconnect_sse(
            client, "GET", f"{url}/api/v1/stream", headers=headers, params=params
        ) as source,
    ):
        assert source.response.status_code == 200
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # a keep-alive
            events.append({"sse_event": sse.event, "sse_id": sse.id, **json.loads(sse.data)})
            if until(events):
                return events
    return events


def statuses_of(execution_id: int) -> Any:
    return lambda events: [
        e["status"]
        for e in events
        if e.get("kind") == "execution" and e["entity_id"] == execution_id
    ]


async def test_a_runs_status_changes_reach_both_processes_clients_in_order_and_resume(
    api: httpx.AsyncClient, admin_token: str, two_apis: list[str]
) -> None:
    seen: dict[str, Events] = {}
    execution: list[int] = []

    def ended(events: Events) -> bool:
        return bool(execution) and "completed" in statuses_of(execution[0])(events)

    async def follow(url: str) -> None:
        filters = {"kind": "execution", "action": "core.local"}
        seen[url] = await listen(url, admin_token, ended, params=filters)

    followers = [asyncio.create_task(follow(url)) for url in two_apis]
    await asyncio.sleep(0.5)  # both subscribed
    created = await api.post(
        "/api/v1/executions", json={"action": "core.local", "parameters": {"cmd": "echo hi"}}
    )
    assert created.status_code == 201, created.text
    execution.append(created.json()["id"])
    await wait_for_status(api, execution[0])
    await asyncio.wait_for(asyncio.gather(*followers), 30)

    execution_id = execution[0]
    first, second = (statuses_of(execution_id)(seen[url]) for url in two_apis)
    assert first == second
    assert first[0] == "requested"
    assert first[-1] == "completed"
    assert "running" in first
    assert first.index("running") < first.index("completed")
    ids = [e["sse_id"] for e in seen[two_apis[0]] if e["entity_id"] == execution_id]
    assert ids == [e["sse_id"] for e in seen[two_apis[1]] if e["entity_id"] == execution_id]
    assert {e["kind"] for e in seen[two_apis[0]]} == {"execution"}

    resumed = await listen(
        two_apis[1],
        admin_token,
        lambda events: "completed" in statuses_of(execution_id)(events),
        params={"kind": "execution"},
        after=ids[0],
    )
    assert [e["sse_id"] for e in resumed if e.get("entity_id") == execution_id] == ids[1:]
    lost = await listen(two_apis[0], admin_token, lambda events: True, after=str(2**62))
    assert lost[0]["sse_event"] == "lost"


async def test_a_caller_hears_only_what_it_may_view_and_what_it_asked_for(
    api: httpx.AsyncClient, two_apis: list[str], tmp_path: Path
) -> None:
    ref = unique("seen")
    await register_pack(api, write_pack(tmp_path, ref, actions={"work": {"runner_type": "noop"}}))
    grants = [{"resource": "execution", "verbs": ["view"], "packs": [ref]}]
    name = unique("set")
    made = await api.post("/api/v1/permission-sets", json={"name": name, "grants": grants})
    assert made.status_code == 201, made.text
    identity = await make_identity(api, permission_sets=[name])
    token = str((await make_token(api, identity["login"]))["token"])
    done: list[int] = []

    async def follow() -> Events:
        return await listen(
            two_apis[0],
            token,
            lambda events: (
                bool(done)
                and any(
                    e.get("entity_id") == done[0] and e.get("status") == "completed" for e in events
                )
            ),
        )

    following = asyncio.create_task(follow())
    await asyncio.sleep(0.5)
    hidden = await api.post("/api/v1/executions", json={"action": "core.noop"})
    await wait_for_status(api, hidden.json()["id"])
    shown = await api.post("/api/v1/executions", json={"action": f"{ref}.work"})
    done.append(shown.json()["id"])
    heard = await asyncio.wait_for(following, 30)

    assert {e["action"] for e in heard} == {f"{ref}.work"}
    assert hidden.json()["id"] not in {e["entity_id"] for e in heard}
    async with httpx.AsyncClient() as client:
        refused = await client.get(f"{two_apis[0]}/api/v1/stream")
        bad_kind = await client.get(
            f"{two_apis[0]}/api/v1/stream",
            params={"kind": "nothing"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert refused.status_code == 401
    assert bad_kind.status_code == 422


async def test_a_sensors_status_changes_are_told_once_each(
    api: httpx.AsyncClient,
    admin_token: str,
    two_apis: list[str],
    session: AsyncSession,
) -> None:
    owner = await make_pack(session)
    sensor = await make_sensor(session, owner, "poll")
    await session.commit()
    ref = sensor.ref

    def changed_thrice(events: Events) -> bool:
        return len([e for e in events if e.get("sensor") == ref]) >= 3

    following = asyncio.create_task(
        listen(two_apis[0], admin_token, changed_thrice, params={"kind": "sensor"})
    )
    await asyncio.sleep(0.5)
    for changes in (
        {"last_poll_at": func.now()},  # starting -> running
        {"last_poll_at": func.now()},  # still running: not told
        {"last_error": "poll() raised RuntimeError: down"},  # -> failing
        {"enabled": False},  # -> disabled
    ):
        await session.execute(update(Sensor).where(Sensor.id == sensor.id).values(**changes))
        await session.commit()
    heard = await asyncio.wait_for(following, 30)

    ours = [(e["change"], e["status"]) for e in heard if e.get("sensor") == ref]
    assert ours == [("status", "running"), ("status", "failing"), ("status", "disabled")]
    failing = next(e for e in heard if e.get("status") == "failing" and e.get("sensor") == ref)
    assert failing["error"] == "poll() raised RuntimeError: down"
