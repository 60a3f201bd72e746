"""`attune up`: the whole system on one machine, kept running, and nothing left behind.

Before anything starts: the data directory's lock (one `attune up` per data directory),
the servers a killed run left behind stopped, and the ports checked. Then PostgreSQL and
Temporal, the search attributes and migrations they need, then the API and the worker.
From then on `attune.supervision` restarts any part that ends; only a crash loop or
SIGINT/SIGTERM stops the system, which unwinds in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from attune.bootstrap import prepare_database
from attune.config import Settings
from attune.data_dir import prepare_data_dir, traversable_only
from attune.embedded_postgres import EMBEDDED_DATABASE, ensure_database, postgres_command
from attune.encryption_key import resolve_encryption_key
from attune.errors import AttuneError
from attune.supervision.console import console
from attune.supervision.data_dir_lock import DataDirInUse, hold_data_dir
from attune.supervision.parts import api_part, postgres_part, temporal_part, worker_part
from attune.supervision.ports import PortTaken, WantedPort, check_ports_free
from attune.supervision.restart_policy import CrashLoop
from attune.supervision.stale import forget_temporal_pid, stop_leftovers
from attune.supervision.supervisor import Part, StartFailed, start_part, stop_parts, supervise
from attune.temporal_setup import connect_temporal, register_search_attributes

API_READY_TIMEOUT_SECONDS = 90.0
# SIGINT or SIGTERM to nothing left running, whatever the parts do meanwhile.
STOP_WITHIN_SECONDS = 25.0

# What ends `attune up` with exit code 1 and a message, rather than a traceback.
FAILURES = (
    CrashLoop,
    StartFailed,
    PortTaken,
    DataDirInUse,
    TimeoutError,
    ConnectionError,
    OSError,
    AttuneError,
)


@dataclass
class System:
    """The parts started so far, in the stages they stop in: the API and the worker first
    (the worker finishes its actions against Temporal and PostgreSQL), then both servers."""

    services: list[Part] = field(default_factory=list)
    temporal: list[Part] = field(default_factory=list)
    postgres: list[Part] = field(default_factory=list)
    up: bool = False

    @property
    def parts(self) -> list[Part]:
        return [*self.postgres, *self.temporal, *self.services]

    async def stop(self) -> None:
        await stop_parts(
            [self.services, [*self.temporal, *self.postgres]], within=STOP_WITHIN_SECONDS
        )


def wanted_ports(settings: Settings) -> list[WantedPort]:
    ports = [WantedPort("the API", settings.api_host, settings.api_port)]
    if settings.temporal_address is None:
        ports += [
            WantedPort("Temporal", "127.0.0.1", settings.temporal_port),
            WantedPort("the Temporal Web UI", "127.0.0.1", settings.temporal_ui_port),
        ]
    return ports


async def prepare_to_start(settings: Settings) -> None:
    """Stop what a killed run left on this data directory, then make sure the ports are free."""
    postgres_dir = settings.data_dir / "postgres" if settings.database_url is None else None
    sqlite = settings.data_dir / "temporal.sqlite" if settings.temporal_address is None else None
    stopped = await asyncio.to_thread(
        stop_leftovers, settings.data_dir, postgres_dir=postgres_dir, sqlite=sqlite
    )
    for leftover in stopped:
        console.print(f"[yellow]stopped {leftover}, left running by an earlier `attune up`[/]")
    check_ports_free(wanted_ports(settings))


async def bring_up(settings: Settings, system: System) -> tuple[Settings, str]:
    """Start every part into `system`; return the settings with the key, and the API's URL."""
    await prepare_to_start(settings)
    encryption_key = resolve_encryption_key(settings)
    # Every step from here (migrations included) uses the key, given or kept in the data dir.
    settings = settings.model_copy(update={"encryption_key": SecretStr(encryption_key)})
    environment = dict(os.environ)

    if settings.database_url is None:
        console.print("starting PostgreSQL (embedded) ...")
        with traversable_only(settings.data_dir):
            command = await asyncio.to_thread(postgres_command, settings.data_dir / "postgres")
        system.postgres.append(postgres_part(command, environment))
        await start_part(system.postgres[0])
        database_url = await ensure_database(str(command.socket_dir), EMBEDDED_DATABASE)
        database_label = f"embedded, data in {command.data_dir}, socket in {command.socket_dir}"
    else:
        database_url = settings.database_url
        database_label = "external (ATTUNE_DATABASE_URL)"

    if settings.temporal_address is None:
        console.print("starting the Temporal dev server (embedded) ...")
        part, first_client = temporal_part(settings, environment)
        system.temporal.append(part)
        await start_part(part)
        client = first_client.result()
        temporal_address = f"127.0.0.1:{settings.temporal_port}"
        ui_label = f"http://127.0.0.1:{settings.temporal_ui_port}"
    else:
        temporal_address = settings.temporal_address
        client = await connect_temporal(
            temporal_address, settings.temporal_namespace, keys=settings.encryption_key_ring
        )
        ui_label = "served by your Temporal deployment"

    await register_search_attributes(client, settings.temporal_namespace)
    console.print("applying database migrations and registering the core pack ...")
    admin = await prepare_database(database_url, settings)
    if admin.created:
        console.print(f"created an admin API token in {admin.path} (readable by you only)")

    child_environment = {
        **environment,
        "ATTUNE_DATA_DIR": str(settings.data_dir),
        "ATTUNE_DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "ATTUNE_ENCRYPTION_KEY": encryption_key,
    }
    system.services += [api_part(child_environment), worker_part(settings, child_environment)]
    for service in system.services:
        await start_part(service)

    api_url = f"http://{settings.api_host}:{settings.api_port}"
    banner = (
        "\n[bold green]Attune is up.[/]\n"
        f"  API          {api_url}/api/v1  (OpenAPI docs at {api_url}/docs)\n"
        f"  Temporal     {temporal_address}  (namespace {settings.temporal_namespace})\n"
        f"  Temporal UI  {ui_label}\n"
        f"  PostgreSQL   {database_label}\n"
        f"  Data         {settings.data_dir}\n"
        f"  Admin token  {admin.path}  (send it as Authorization: Bearer <token>)\n"
        "Press Ctrl-C to stop.\n"
    )
    return settings, banner


async def wait_for_api(url: str) -> None:
    """Poll the health endpoint until it says ok."""
    deadline = time.monotonic() + API_READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the API at {url} was not healthy after {API_READY_TIMEOUT_SECONDS:g}s"
                )
            await asyncio.sleep(0.25)


async def run_system(settings: Settings, system: System) -> None:
    """Bring the system up and keep it up; return never, raise what stops it."""
    settings, banner = await bring_up(settings, system)
    # Supervised from here: an API that dies while starting is restarted like any other.
    supervision = asyncio.ensure_future(
        supervise(system.parts, first_restart_delay=settings.restart_delay)
    )
    try:
        console.print("waiting for the API to report healthy ...")
        health = asyncio.ensure_future(
            wait_for_api(f"http://{settings.api_host}:{settings.api_port}/api/v1/health")
        )
        try:
            await asyncio.wait({health, supervision}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            health.cancel()
        if not supervision.done():
            health.result()
            system.up = True
            console.print(banner)
        await supervision
    finally:
        supervision.cancel()
        await asyncio.gather(supervision, return_exceptions=True)


async def run_up(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM (exit 0) or until the system cannot be kept up (exit 1)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    unwinding = False
    current = asyncio.current_task()
    assert current is not None

    def request_stop() -> None:
        if stopping.is_set():
            return
        stopping.set()
        console.print("stopping Attune ...")
        # Cancelling unwinds whatever step is running, then the parts are stopped in order.
        # Once that stop has begun (after a failure) it must not be cut short.
        if not unwinding:
            current.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop)
    system = System()
    try:
        prepare_data_dir(settings.data_dir)
        with hold_data_dir(settings.data_dir):
            async with AsyncExitStack() as stack:
                stack.callback(forget_temporal_pid, settings.data_dir)
                stack.push_async_callback(system.stop)
                try:
                    await run_system(settings, system)
                finally:
                    unwinding = True
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        console.print("Attune stopped.")
        return 0
    except FAILURES as error:
        what = "keep running" if system.up else "start"
        console.print(f"[bold red]Attune could not {what}:[/] {error}")
        return 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 1
