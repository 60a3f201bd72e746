"""The four parts `attune up` supervises: how each is started, known ready, and stopped.

Each is a direct child of the launcher with a death signal, so none outlives it:
PostgreSQL gets SIGINT (its fast shutdown), the others SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping

from temporalio.client import Client

from attune.config import Settings
from attune.data_dir import make_private, private_umask
from attune.embedded_postgres import PostgresCommand, postmaster_ready
from attune.embedded_temporal import connect_when_serving, dev_server_command
from attune.supervision.children import ChildProcess, private_log, spawn
from attune.supervision.stale import record_temporal_pid
from attune.supervision.supervisor import Part
from attune.web_ui_codec import web_ui_codec_endpoint

API_STOP_GRACE_SECONDS = 5.0
# The worker lets running actions finish for `worker_shutdown_grace`, then needs a moment
# to record the rest as abandoned and exit.
WORKER_STOP_MARGIN_SECONDS = 3.0
SERVER_STOP_GRACE_SECONDS = 5.0
TEMPORAL_LOG_FILE = "temporal.log"


def postgres_part(command: PostgresCommand, environment: Mapping[str, str]) -> Part:
    """The embedded PostgreSQL, in the foreground, logging to its data directory."""

    async def start() -> ChildProcess:
        with private_log(command.log) as log:
            return await spawn(
                "PostgreSQL",
                command.argv,
                environment=environment,
                death_signal=signal.SIGINT,
                user=command.uid,
                group=command.gid,
                output=log,
            )

    async def ready(child: ChildProcess) -> None:
        # The server says so only in its postmaster.pid file: polled.
        while True:
            if postmaster_ready(command.data_dir, child.pid):
                return
            await asyncio.sleep(0.1)

    return Part(
        name="PostgreSQL",
        spawn=start,
        ready=ready,
        stop_signal=signal.SIGINT,
        stop_grace=SERVER_STOP_GRACE_SECONDS,
    )


def temporal_part(
    settings: Settings, environment: Mapping[str, str]
) -> tuple[Part, asyncio.Future[Client]]:
    """The embedded dev server, its pid recorded in the data dir for the run after a kill.

    The future is the client of its first start, for the launcher's own setup.
    """
    sqlite = settings.data_dir / "temporal.sqlite"
    address = f"127.0.0.1:{settings.temporal_port}"
    command = dev_server_command(
        port=settings.temporal_port,
        ui_port=settings.temporal_ui_port,
        database_file=sqlite,
        namespace=settings.temporal_namespace,
        # The Web UI shows decoded payloads: it asks the API's codec endpoint.
        ui_codec_endpoint=web_ui_codec_endpoint(settings),
    )
    first_client: asyncio.Future[Client] = asyncio.get_running_loop().create_future()

    async def start() -> ChildProcess:
        make_private(*(sqlite.with_name(sqlite.name + end) for end in ("", "-wal", "-shm")))
        with private_umask(), private_log(settings.data_dir / TEMPORAL_LOG_FILE) as log:
            # The server creates its files with the umask it inherits.
            child = await spawn(
                "Temporal",
                command,
                environment=environment,
                death_signal=signal.SIGTERM,
                output=log,
            )
        record_temporal_pid(settings.data_dir, child.pid)
        return child

    async def ready(child: ChildProcess) -> None:
        client = await connect_when_serving(
            address, settings.temporal_namespace, keys=settings.encryption_key_ring
        )
        if not first_client.done():
            first_client.set_result(client)

    part = Part(
        name="Temporal",
        spawn=start,
        ready=ready,
        stop_signal=signal.SIGTERM,
        stop_grace=SERVER_STOP_GRACE_SECONDS,
    )
    return part, first_client


def attune_part(name: str, command: str, environment: Mapping[str, str], *, grace: float) -> Part:
    """`attune <command>` with this Python, so it runs the same installed code."""

    async def start() -> ChildProcess:
        return await spawn(
            name,
            [sys.executable, "-m", "attune", command],
            environment=environment,
            death_signal=signal.SIGTERM,
        )

    return Part(name=name, spawn=start, stop_signal=signal.SIGTERM, stop_grace=grace)


def api_part(environment: Mapping[str, str]) -> Part:
    return attune_part("API", "api", environment, grace=API_STOP_GRACE_SECONDS)


def worker_part(settings: Settings, environment: Mapping[str, str]) -> Part:
    grace = settings.worker_shutdown_grace + WORKER_STOP_MARGIN_SECONDS
    return attune_part("worker", "worker", environment, grace=grace)
