"""Are the TCP ports `attune up` serves on free? Checked before anything starts.

A taken port would otherwise fail late and obscurely: the API would crash-loop, and a
Temporal server left over on its port would be used as if it were the one just started.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import psutil


class PortTaken(Exception):
    """A port `attune up` needs is bound by another process."""


@dataclass(frozen=True)
class WantedPort:
    """A port and what it is for, as the console names it."""

    purpose: str
    host: str
    port: int


def check_ports_free(wanted: Sequence[WantedPort]) -> None:
    """Raise `PortTaken` naming each port in use and, when visible, the process holding it."""
    problems = [
        f"port {item.port} ({item.purpose}, {item.host}) is in use by {holder_of(item.port)}"
        for item in wanted
        if not _can_bind(item.host, item.port)
    ]
    if problems:
        raise PortTaken("; ".join(problems))


def _can_bind(host: str, port: int) -> bool:
    # SO_REUSEADDR as the servers themselves bind: connections of a previous run still in
    # TIME_WAIT do not stop them, so they must not stop this check either.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def holder_of(port: int) -> str:
    """'pid 123 (python)' for the process listening on `port`, or why it cannot be named."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return "a process this user may not see"
    holders = sorted(
        {
            connection.pid
            for connection in connections
            if connection.laddr
            and connection.laddr.port == port
            and not connection.raddr  # bound or listening, not a connection through it
            and connection.pid is not None
        }
    )
    if not holders:
        return "a process this user may not see"
    return ", ".join(_describe(pid) for pid in holders)


def _describe(pid: int) -> str:
    with contextlib.suppress(psutil.Error):
        return f"pid {pid} ({psutil.Process(pid).name()})"
    return f"pid {pid}"
