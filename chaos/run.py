"""One scenario from start to end: up, load, fault, recovery, the count, nothing left running."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from chaos.accounting import account
from chaos.inquiries import Answerer
from chaos.ledger import Watch
from chaos.load import Load, plan
from chaos.pack import upload_pack, write_pack
from chaos.records import read_rows_anyhow, wait_terminal, workflows_missing
from chaos.report import Result
from chaos.scenarios import Scenario, inflict, wait_recovered
from chaos.system import System, free_ports, kill_all

READY_TIMEOUT_SECONDS = 180.0
RECOVER_TIMEOUT_SECONDS = 150.0
SEND_DEADLINE_SECONDS = 120.0
UNRECOVERED_WAIT_SECONDS = 30.0
BUSY_WAIT_SECONDS = 30.0


async def run_scenario(
    scenario: Scenario,
    *,
    executions: int = 200,
    deadline_s: float = 180.0,
    environment: Mapping[str, str] | None = None,
    keep: bool = False,
) -> Result:
    """Run the scenario on a system of its own and return what it measured.

    `deadline_s` bounds the wait, after recovery, for every acknowledged execution to end;
    `environment` adds settings to `attune up`'s (ATTUNE_ACTION_HEARTBEAT_TIMEOUT, ...).
    """
    root = Path(tempfile.mkdtemp(prefix=f"attune-chaos-{scenario.name}-"))
    system = System(root, free_ports(), dict(environment or {}))
    result = Result(scenario.name)
    began = time.monotonic()
    try:
        await _exercise(system, scenario, executions, deadline_s, result)
    except (RuntimeError, OSError, httpx.HTTPError, TimeoutError, ValueError) as error:
        result.error = f"{type(error).__name__}: {error}"[:300]
        result.notes.append(f"launcher log: {system.log_tail(8)}")
    finally:
        await system.stop()
        leftover = system.survivors()
        if leftover:
            result.survivors = len(leftover)
            result.notes.append(f"left running, killed: {kill_all(leftover)}")
        result.seconds = time.monotonic() - began
        if keep:
            result.notes.append(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return result


async def _exercise(
    system: System, scenario: Scenario, executions: int, deadline_s: float, result: Result
) -> None:
    system.start()
    if not await system.wait_healthy(READY_TIMEOUT_SECONDS):
        raise RuntimeError(f"attune up was not healthy: {system.log_tail(8)}")
    headers = {"Authorization": f"Bearer {system.token()}"}
    async with httpx.AsyncClient(base_url=system.api_url, headers=headers) as client:
        await upload_pack(client, write_pack(system.root / "pack"))
        ledger = system.root / "ledger.txt"
        watch = Watch(ledger)
        load = Load(client, plan(executions, ledger), deadline_s=SEND_DEADLINE_SECONDS)
        answerer = Answerer(client, load)
        helpers = [asyncio.create_task(watch.run()), asyncio.create_task(answerer.run())]
        flight = Flight(load, answerer, watch, asyncio.create_task(load.run()))
        try:
            await _fault_and_wait(system, scenario, flight, deadline_s, result)
            watch.poll()
            ids = {ack.execution_id for ack in load.acknowledged.values()}
            rows = await read_rows_anyhow(system)
            unended = {
                id for id in ids if rows is not None and id in rows and not rows[id].terminal
            }
            no_workflow = await workflows_missing(system.ports.temporal, unended)
            account(result, load, rows, watch, no_workflow)
        finally:
            for task in [*helpers, flight.sending]:
                task.cancel()
            await asyncio.gather(*helpers, flight.sending, return_exceptions=True)


@dataclass(frozen=True)
class Flight:
    """The load under way: its sender, the inquiries' answerer, the ledger's watch."""

    load: Load
    answerer: Answerer
    watch: Watch
    sending: asyncio.Task[None]


async def _strike_time(flight: Flight) -> None:
    """Once half the load is acknowledged and some of it runs (or a while after)."""
    await flight.load.fault_time.wait()
    enough = max(2, flight.load.total // 20)
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while time.monotonic() < deadline:
        if flight.watch.running >= enough:
            return
        await asyncio.sleep(0.1)


async def _fault_and_wait(
    system: System, scenario: Scenario, flight: Flight, deadline_s: float, result: Result
) -> None:
    """Strike mid-run, wait for recovery, then for every acknowledged execution to end."""
    load, answerer, sending = flight.load, flight.answerer, flight.sending
    await _strike_time(flight)
    result.notes.append(f"struck with {flight.watch.running} scripts running")
    fault = await inflict(system, scenario)
    result.notes.append(f"fault: {scenario.signum.name} to {scenario.role} (pids {fault.pids})")
    if not fault.pids:
        result.error = f"no {scenario.role} process to signal"
    recovered = await wait_recovered(system, scenario, fault, RECOVER_TIMEOUT_SECONDS)
    answerer.answer_all.set()
    if recovered:
        result.recover_s = time.monotonic() - fault.at
    else:
        state = "running" if system.up_running() else "exited"
        result.notes.append(f"no recovery; attune up {state}; log: {system.log_tail(6)!r}")
    if not recovered and not system.up_running():
        sending.cancel()  # nothing will answer: what was acknowledged is all there is
    await asyncio.wait({sending})
    if not sending.cancelled() and (failure := sending.exception()) is not None:
        raise failure
    ids = {ack.execution_id for ack in load.acknowledged.values()}
    wait = deadline_s if recovered else min(deadline_s, UNRECOVERED_WAIT_SECONDS)
    if system.up_running():
        await wait_terminal(system.data_dir, ids, time.monotonic() + wait)
