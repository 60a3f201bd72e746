"""One `attune up` under test: private ports and data dir, its processes by role, its end.

Everything a scenario starts lives under its own folder (`root`): the data dir, the pack,
the ledger and the launcher's logs. So "what is left running" is simply every process whose
command line or environment names that folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
import psutil


class Role(StrEnum):
    """The parts of a running system a fault can hit."""

    UP = "up"
    API = "api"
    WORKER = "worker"
    TEMPORAL = "temporal"
    POSTGRES = "postgres"


@dataclass(frozen=True)
class Ports:
    api: int
    temporal: int
    ui: int


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_ports() -> Ports:
    return Ports(api=free_port(), temporal=free_port(), ui=free_port())


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def role_of(process: psutil.Process) -> Role | None:
    """Which part of Attune the process is, from its command line."""
    try:
        arguments = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    for index in range(len(arguments) - 2):
        if arguments[index : index + 2] == ["-m", "attune"]:
            with contextlib.suppress(ValueError):
                return Role(arguments[index + 2])
    if arguments and Path(arguments[0]).name == "temporal" and "start-dev" in arguments:
        return Role.TEMPORAL
    return None


@dataclass
class System:
    """A launcher (`python -m attune up`) on `root/data`, started and restarted by the suite."""

    root: Path
    ports: Ports
    extra_environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    launches: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}/api/v1"

    def token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def environment(self) -> dict[str, str]:
        """This shell's environment without any Attune or Temporal setting, then ours."""
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("ATTUNE_", "TEMPORAL_"))
        }
        return inherited | {
            "ATTUNE_DATA_DIR": str(self.data_dir),
            "ATTUNE_API_PORT": str(self.ports.api),
            "ATTUNE_TEMPORAL_PORT": str(self.ports.temporal),
            "ATTUNE_TEMPORAL_UI_PORT": str(self.ports.ui),
            "ATTUNE_LOG_LEVEL": "WARNING",
            **self.extra_environment,
        }

    def start(self) -> None:
        """Start `attune up` (again, on the same data dir and ports); its output to a log."""
        self.launches += 1
        log = self.root / f"up-{self.launches}.log"
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "attune", "up"],
                env=self.environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def up_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        log = self.root / f"up-{self.launches}.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    async def healthy(self, client: httpx.AsyncClient) -> bool:
        try:
            return (await client.get(f"{self.api_url}/health", timeout=5.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_healthy(self, within_s: float) -> bool:
        """Wait for health 200 while the launcher runs; False when it exits or time is up."""
        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline and self.up_running():
                if await self.healthy(client):
                    return True
                await asyncio.sleep(0.5)
        return False

    def tree(self) -> list[psutil.Process]:
        """The launcher's living descendants (PostgreSQL is not one: pg_ctl detaches it)."""
        if not self.up_running():
            return []
        assert self.process is not None
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [child for child in children if alive(child)]

    def postmaster(self) -> psutil.Process | None:
        """The PostgreSQL server of the data dir, from its postmaster.pid."""
        try:
            pid = int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
            process = psutil.Process(pid)
        except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
            return None
        return process if alive(process) and process.name().startswith("postgres") else None

    def find(self, role: Role) -> list[psutil.Process]:
        """The living processes of that role."""
        if role is Role.UP:
            assert self.process is not None
            return [psutil.Process(self.process.pid)] if self.up_running() else []
        if role is Role.POSTGRES:
            found = self.postmaster()
            return [found] if found is not None else []
        return [process for process in self.tree() if role_of(process) is role]

    def signal(self, role: Role, signum: signal.Signals) -> list[int]:
        """Send `signum` to every process of the role; the pids it reached."""
        reached = []
        for process in self.find(role):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signum)
                reached.append(process.pid)
        return reached

    async def wait_up_exited(self, within_s: float) -> bool:
        if self.process is None:
            return True
        try:
            await asyncio.to_thread(self.process.wait, within_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    async def stop(self, within_s: float = 60.0) -> None:
        """SIGTERM the launcher and wait for it; SIGKILL its tree if it does not stop."""
        if not self.up_running():
            return
        assert self.process is not None
        tree = self.tree()
        self.process.send_signal(signal.SIGTERM)
        if not await self.wait_up_exited(within_s):
            for process in [*tree, psutil.Process(self.process.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            await asyncio.to_thread(self.process.wait)

    def survivors(self) -> list[psutil.Process]:
        """Every living process that names this scenario's folder (arguments or environment)."""
        marker = str(self.root)
        found = []
        for process in psutil.process_iter():
            if process.pid == os.getpid() or not alive(process):
                continue
            try:
                if marker in " ".join(process.cmdline()) or any(
                    marker in value for value in process.environ().values()
                ):
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found


def describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:160]}"
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return str(process.pid)


def kill_all(processes: list[psutil.Process]) -> list[str]:
    """SIGKILL each process; a description of each one that was still there."""
    killed = []
    for process in processes:
        description = describe(process)
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
            killed.append(description)
    psutil.wait_procs(processes, timeout=10)
    return killed
