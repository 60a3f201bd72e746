"""`attune up` started by tests: its ports, its process and log, and killing what is left."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.servers import free_ports


@dataclass
class Ports:
    api: int
    temporal: int
    ui: int

    @classmethod
    def free(cls) -> Ports:
        """Three different ports nothing listens on."""
        api, temporal, ui = free_ports(3)
        return cls(api=api, temporal=temporal, ui=ui)


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log: Path


def kill_all(started: list[Running]) -> None:
    """SIGKILL every `attune up` still running, and every process under it."""
    for running in started:
        if running.process.poll() is None:
            for child in psutil.Process(running.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            running.process.kill()
            running.process.wait()
