"""`attune up` as a person runs it: a real process tree, stopped with SIGTERM, then restarted."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from api.schemas.codec import PayloadJson
from attune.config import decode_encryption_key
from attune.payload_codec import encrypting_data_converter
from tests.executions import wait_for_status
from tests.launched_systems import Ports, Running
from tests.pack_folders import write_pack
from workflows.ping import PingWorkflow

pytestmark = pytest.mark.timeout(300)

READY_SECONDS = 120.0


def start_up(
    ports: Ports, data_dir: Path, log: Path, launched: list[Running], **settings: str
) -> Running:
    """`attune up` on `ports`; `settings` adds ATTUNE_* values to its environment."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ATTUNE_", "TEMPORAL_"))
    }
    environment |= {
        "ATTUNE_DATA_DIR": str(data_dir),
        "ATTUNE_API_PORT": str(ports.api),
        "ATTUNE_TEMPORAL_PORT": str(ports.temporal),
        "ATTUNE_TEMPORAL_UI_PORT": str(ports.ui),
        **settings,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "attune", "up"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Running(process=process, log=log)
    launched.append(running)
    return running


async def wait_until_healthy(running: Running, ports: Ports) -> dict[str, object]:
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            assert running.process.poll() is None, running.log.read_text()
            try:
                response = await client.get(f"http://127.0.0.1:{ports.api}/api/v1/health")
                if response.status_code == 200:
                    body: dict[str, object] = response.json()
                    return body
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise AssertionError(f"not healthy in {READY_SECONDS}s:\n{running.log.read_text()}")


def process_tree(running: Running) -> list[psutil.Process]:
    """The launcher's descendants: PostgreSQL and Temporal among them, its children too."""
    return psutil.Process(running.process.pid).children(recursive=True)


# What `attune up` promises for a stop (the worker's 20 s of grace, then 3 s to exit, included).
STOP_SECONDS = 25.0


def stop_with_sigterm(running: Running) -> int:
    running.process.send_signal(signal.SIGTERM)
    return running.process.wait(timeout=STOP_SECONDS)


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def write_marker(data_dir: Path, marker: str) -> None:
    connection = await asyncpg.connect(
        user="postgres", database="attune", host=str(data_dir / "postgres")
    )
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS public.smoke_marker (value text)")
        await connection.execute("INSERT INTO public.smoke_marker VALUES ($1)", marker)
    finally:
        await connection.close()


async def read_markers(data_dir: Path) -> list[str]:
    connection = await asyncpg.connect(
        user="postgres", database="attune", host=str(data_dir / "postgres")
    )
    try:
        return [row["value"] for row in await connection.fetch("SELECT value FROM smoke_marker")]
    finally:
        await connection.close()


async def test_up_serves_stops_cleanly_and_keeps_data(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    first = start_up(ports, data_dir, tmp_path / "first.log", launched)
    health = await wait_until_healthy(first, ports)
    # Its worker may or may not have recorded itself by the time the API answers.
    assert health.pop("workers_alive") in (0, 1)
    assert health == {"status": "ok", "database": "ok", "temporal": "ok", "errors": {}}
    async with httpx.AsyncClient(timeout=5) as client:
        ui = await client.get(f"http://127.0.0.1:{ports.ui}/")
    assert ui.status_code == 200

    # The worker is alive: a workflow goes through it to PostgreSQL and back, encrypted.
    key = (data_dir / "encryption-key").read_text()
    temporal = await connect_with(ports, key)
    ping_id = f"ping-{uuid.uuid4()}"
    result = await temporal.execute_workflow(PingWorkflow.run, id=ping_id, task_queue="attune")
    assert result.database_version
    await check_the_web_ui_decodes(ports, temporal, ping_id)
    marker = uuid.uuid4().hex
    await write_marker(data_dir, marker)
    assert_private(data_dir)
    token = await check_the_operator_path(ports, data_dir, tmp_path, first)

    tree = process_tree(first)
    names = {process.name() for process in tree}
    assert {"postgres", "temporal"} <= names, names
    assert stop_with_sigterm(first) == 0, first.log.read_text()
    survivors = [process for process in tree if alive(process)]
    assert survivors == [], survivors

    second = start_up(ports, data_dir, tmp_path / "second.log", launched)
    await wait_until_healthy(second, ports)
    assert marker in await read_markers(data_dir)
    assert (data_dir / "encryption-key").read_text() == key
    assert (data_dir / "admin-token").read_text().strip() == token
    temporal = await connect_with(ports, key)
    description = await temporal.get_workflow_handle(ping_id).describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    await check_the_timer_kept_its_pace(ports, token, temporal)

    tree = process_tree(second)
    assert stop_with_sigterm(second) == 0, second.log.read_text()
    assert [process for process in tree if alive(process)] == []


async def connect_with(ports: Ports, key: str) -> Client:
    """A client of the embedded Temporal that encodes as Attune does, with its data dir's key."""
    return await Client.connect(
        f"127.0.0.1:{ports.temporal}",
        data_converter=encrypting_data_converter([decode_encryption_key(key.strip())]),
    )


async def check_the_web_ui_decodes(ports: Ports, temporal: Client, workflow_id: str) -> None:
    """The embedded Web UI is pointed at the API's codec endpoint, which it may call from the
    browser (CORS) and which decodes the workflow's payloads."""
    ui = f"http://127.0.0.1:{ports.ui}"
    async with httpx.AsyncClient(timeout=5) as client:
        settings = (await client.get(f"{ui}/api/v1/settings")).json()
        endpoint = settings["Codec"]["Endpoint"]
        assert endpoint.startswith(f"http://127.0.0.1:{ports.api}/api/v1/codec/web-ui/")
        preflight = await client.options(
            f"{endpoint}/decode",
            headers={
                "Origin": ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ui
        history = await temporal.get_workflow_handle(workflow_id).fetch_history()
        completed = history.events[-1].workflow_execution_completed_event_attributes
        [sealed] = completed.result.payloads
        assert sealed.metadata["encoding"] == b"binary/encrypted"
        body = {"payloads": [PayloadJson.of(sealed).model_dump()]}
        decoded = await client.post(
            f"{endpoint}/decode", json=body, headers={"Origin": ui, "X-Namespace": "default"}
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == ui
        [plain] = decoded.json()["payloads"]
        assert base64.b64decode(plain["metadata"]["encoding"]) == b"json/plain"
        assert b"database_version" in base64.b64decode(plain["data"])


def assert_private(data_dir: Path) -> None:
    """Secrets and histories readable by their owner only; the data dir not listable."""
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o711
    sqlite_files = sorted(data_dir.glob("temporal.sqlite*"))
    assert sqlite_files, list(data_dir.iterdir())
    for path in [*sqlite_files, data_dir / "encryption-key", data_dir / "admin-token"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((data_dir / "postgres").stat().st_mode) == 0o700


async def check_the_operator_path(
    ports: Ports, data_dir: Path, tmp_path: Path, running: Running
) -> str:
    """The README's path: the admin token, `attune pack register`, a webhook, a result."""
    token_file = data_dir / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert str(token_file) in running.log.read_text()
    token = token_file.read_text().strip()
    folder = write_pack(
        tmp_path,
        "smoke",
        triggers={"hook": {"type": "webhook"}},
        rules={
            "greet": {
                "trigger": "smoke.hook",
                "action": {"ref": "core.echo", "parameters": {"message": "{{ trigger.word }}"}},
            },
            "tick": {
                "trigger": {"type": "core.interval", "parameters": {"unit": "seconds", "delta": 2}},
                "action": {"ref": "core.noop"},
            },
        },
    )
    broken = write_pack(tmp_path, "broken", actions={"bad": {"runner_type": "teleport"}})
    cli = {**os.environ, "ATTUNE_DATA_DIR": str(data_dir), "ATTUNE_API_PORT": str(ports.api)}
    registered = await asyncio.to_thread(attune_cli, cli, "pack", "register", str(folder))
    refused = await asyncio.to_thread(attune_cli, cli, "pack", "register", str(broken))
    assert registered.returncode == 0, registered.stderr
    assert "created smoke.greet" in registered.stdout
    assert refused.returncode == 1
    assert "actions/bad.yaml" in refused.stderr
    assert "runner_type" in refused.stderr

    api = f"http://127.0.0.1:{ports.api}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=10) as client:
        caused = await client.post("/webhooks/smoke.hook", json={"word": "hello"})
        assert caused.status_code == 202, caused.text
        execution = await wait_for_status(client, caused.json()["execution_ids"][0], prefix="")
    assert execution["status"] == "completed", execution
    assert execution["result"]["result"] == "hello"
    return token


async def check_the_timer_kept_its_pace(ports: Ports, token: str, temporal: Client) -> None:
    """After a restart the timer rule still has one schedule, firing on: one event each."""
    api = f"http://127.0.0.1:{ports.api}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    schedule = temporal.get_schedule_handle("rule-smoke.tick")
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=10) as client:
        before = (await schedule.describe()).info.num_actions
        deadline = time.monotonic() + 30
        while (await schedule.describe()).info.num_actions < before + 2:
            assert time.monotonic() < deadline, "the timer did not fire after the restart"
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # the last firing's activity writes its event
        listed = await client.get("/events", params={"trigger": "core.interval", "limit": 1000})
        fired = [event["payload"]["scheduled_at"] for event in listed.json()["items"]]
    taken = (await schedule.describe()).info.num_actions
    assert len(fired) == len(set(fired))  # no firing twice
    assert taken - 1 <= len(fired) <= taken  # none lost (one may be under way)
    schedules = [item.id async for item in await temporal.list_schedules()]
    assert schedules.count("rule-smoke.tick") <= 1


def attune_cli(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "attune", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Every process started for this data directory: by command line or environment."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid == os.getpid() or not alive(process):
                continue
            if str(data_dir) in " ".join(process.cmdline()) or (
                process.environ().get("ATTUNE_DATA_DIR") == str(data_dir)
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


async def test_a_taken_port_stops_the_start_naming_the_port_and_its_holder(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    # Checked before anything starts: a Temporal server left on its port was once used
    # unawares, and a taken API port meant an API that could only crash.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.api))
        squatter.listen()
        running = start_up(ports, data_dir, tmp_path / "failed.log", launched)
        exit_code = await asyncio.to_thread(running.process.wait, 60)
    log = running.log.read_text()
    assert exit_code == 1, log
    holder = psutil.Process()
    assert (
        f"port {ports.api} (the API, 127.0.0.1) is in use by pid {holder.pid} ({holder.name()})"
        in log
    )
    assert f"port {ports.temporal}" not in log
    assert not (data_dir / "postgres").exists()
    assert processes_of(data_dir) == []
