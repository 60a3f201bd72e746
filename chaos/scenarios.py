"""The faults: which part of a running system gets which signal, and what recovery means.

A killed or stopped part is expected back on its own (the launcher restarts its
children); a killed or stopped launcher is started again by the suite, on the same data dir
and ports, as an operator would. Recovered means: the API reports healthy, a worker runs,
and the part that was hit runs again as a new process.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass

import httpx

from chaos.system import Role, System

RECOVER_POLL_SECONDS = 0.5
LAUNCHER_STOP_SECONDS = 90.0


@dataclass(frozen=True)
class Scenario:
    name: str
    role: Role
    signum: signal.Signals
    description: str


SCENARIOS = {
    scenario.name: scenario
    for scenario in [
        Scenario("kill-worker", Role.WORKER, signal.SIGKILL, "SIGKILL of the worker"),
        Scenario("kill-api", Role.API, signal.SIGKILL, "SIGKILL of the API"),
        Scenario("kill-temporal", Role.TEMPORAL, signal.SIGKILL, "SIGKILL of the Temporal server"),
        Scenario("kill-postgres", Role.POSTGRES, signal.SIGKILL, "SIGKILL of the postmaster"),
        Scenario("kill-up", Role.UP, signal.SIGKILL, "SIGKILL of `attune up`, then up again"),
        Scenario("term-worker", Role.WORKER, signal.SIGTERM, "SIGTERM of the worker"),
        Scenario("term-up", Role.UP, signal.SIGTERM, "SIGTERM of `attune up`, then up again"),
    ]
}


@dataclass(frozen=True)
class Fault:
    pids: list[int]
    at: float
    """time.monotonic() when the signal was sent."""


async def inflict(system: System, scenario: Scenario) -> Fault:
    """Send the scenario's signal; a hit launcher is waited for and started again."""
    at = time.monotonic()
    pids = system.signal(scenario.role, scenario.signum)
    if scenario.role is Role.UP:
        await system.wait_up_exited(LAUNCHER_STOP_SECONDS)
        system.start()
    return Fault(pids, at)


async def wait_recovered(system: System, scenario: Scenario, fault: Fault, within_s: float) -> bool:
    """Until healthy with a worker and the hit part replaced; False if the launcher gave up."""
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if not system.up_running():
                return False
            if await system.healthy(client) and _replaced(system, scenario, fault):
                return True
            await asyncio.sleep(RECOVER_POLL_SECONDS)
    return False


def _replaced(system: System, scenario: Scenario, fault: Fault) -> bool:
    if not system.find(Role.WORKER):
        return False
    # A stopping worker drains for a while under its old pid: the new one must run too.
    return scenario.role is Role.UP or any(
        process.pid not in fault.pids for process in system.find(scenario.role)
    )
