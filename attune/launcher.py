"""`attune up`: the whole system on one machine, and nothing left behind when it stops.

Order matters: PostgreSQL and Temporal first, then the search attributes and migrations
they need, then the API and the worker as child processes. Stopping unwinds in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from rich.console import Console

from attune.bootstrap import prepare_database
from attune.config import Settings
from attune.data_dir import make_private, prepare_data_dir, private_umask, traversable_only
from attune.embedded_postgres import ensure_database, start_embedded_postgres
from attune.embedded_temporal import start_embedded_temporal
from attune.encryption_key import resolve_encryption_key
from attune.errors import AttuneError
from attune.temporal_setup import connect_temporal, data_converter_for, register_search_attributes
from attune.web_ui_codec import web_ui_codec_endpoint

logger = logging.getLogger(__name__)
console = Console(stderr=True, highlight=False, soft_wrap=True)

EMBEDDED_DATABASE = "attune"
API_READY_TIMEOUT_SECONDS = 90.0
CHILD_STOP_TIMEOUT_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process


class ChildExited(Exception):
    """A child process ended while the system should be running."""


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM if the launcher dies.

    So even a SIGKILLed `attune up` leaves no API or worker process behind.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def spawn(name: str, command: str, environment: Mapping[str, str]) -> Child:
    """Start `attune <command>` with this Python, so it runs the same installed code."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "attune",
        command,
        env=dict(environment),
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    logger.info("started %s (pid %d)", name, process.pid)
    return Child(name=name, process=process)


async def stop_children(children: list[Child]) -> None:
    """SIGTERM every child, give them time to finish, then SIGKILL what is left."""
    for child in children:
        if child.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.process.terminate()
    for child in children:
        try:
            await asyncio.wait_for(child.process.wait(), CHILD_STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            console.print(f"[yellow]{child.name} did not stop in time; killing it[/]")
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            await child.process.wait()


async def watch_children(children: list[Child]) -> None:
    """Return never; raise `ChildExited` as soon as any child ends."""
    waits = {asyncio.ensure_future(child.process.wait()): child for child in children}
    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for future in waits:
        future.cancel()
    child = waits[next(iter(done))]
    raise ChildExited(f"{child.name} exited with code {child.process.returncode}")


async def wait_for_api(url: str, children: list[Child]) -> None:
    """Poll the health endpoint until it says ok; fail early if a child dies."""
    deadline = time.monotonic() + API_READY_TIMEOUT_SECONDS
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            for child in children:
                if child.process.returncode is not None:
                    raise ChildExited(f"{child.name} exited with code {child.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the API at {url} was not healthy after {API_READY_TIMEOUT_SECONDS:g}s"
                )
            await asyncio.sleep(0.25)


async def bring_up(settings: Settings, stack: AsyncExitStack) -> list[Child]:
    """Start every part; each one's stop goes on `stack` the moment it has started."""
    prepare_data_dir(settings.data_dir)
    encryption_key = resolve_encryption_key(settings)
    # Every step from here (migrations included) uses the key, given or kept in the data dir.
    settings = settings.model_copy(update={"encryption_key": SecretStr(encryption_key)})

    if settings.database_url is None:
        console.print("starting PostgreSQL (embedded) ...")
        with traversable_only(settings.data_dir):
            postgres = await asyncio.to_thread(
                start_embedded_postgres, settings.data_dir / "postgres"
            )
        stack.callback(postgres.stop)
        database_url = await ensure_database(postgres.socket_dir, EMBEDDED_DATABASE)
        database_label = f"embedded, data in {postgres.data_dir}, socket in {postgres.socket_dir}"
    else:
        database_url = settings.database_url
        database_label = "external (ATTUNE_DATABASE_URL)"

    if settings.temporal_address is None:
        console.print("starting the Temporal dev server (embedded) ...")
        sqlite = settings.data_dir / "temporal.sqlite"
        make_private(*(sqlite.with_name(sqlite.name + end) for end in ("", "-wal", "-shm")))
        with private_umask():  # the server creates its files with the umask it inherits
            environment = await start_embedded_temporal(
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                database_file=sqlite,
                namespace=settings.temporal_namespace,
                data_converter=data_converter_for(settings),
                # The Web UI shows decoded payloads: it asks the API's codec endpoint.
                ui_codec_endpoint=web_ui_codec_endpoint(settings),
            )
        stack.push_async_callback(environment.shutdown)
        client = environment.client
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
        **os.environ,
        "ATTUNE_DATA_DIR": str(settings.data_dir),
        "ATTUNE_DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_address,
        "ATTUNE_ENCRYPTION_KEY": encryption_key,
    }
    children: list[Child] = []
    stack.push_async_callback(stop_children, children)
    children.append(await spawn("API", "api", child_environment))
    children.append(await spawn("worker", "worker", child_environment))

    api_url = f"http://{settings.api_host}:{settings.api_port}"
    console.print("waiting for the API to report healthy ...")
    await wait_for_api(f"{api_url}/api/v1/health", children)

    console.print(
        "\n[bold green]Attune is up.[/]\n"
        f"  API          {api_url}/api/v1  (OpenAPI docs at {api_url}/docs)\n"
        f"  Temporal     {temporal_address}  (namespace {settings.temporal_namespace})\n"
        f"  Temporal UI  {ui_label}\n"
        f"  PostgreSQL   {database_label}\n"
        f"  Data         {settings.data_dir}\n"
        f"  Admin token  {admin.path}  (send it as Authorization: Bearer <token>)\n"
        "Press Ctrl-C to stop.\n"
    )
    return children


async def run_up(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM (exit 0) or until a part fails (exit 1)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current = asyncio.current_task()
    assert current is not None

    def request_stop() -> None:
        if not stopping.is_set():
            stopping.set()
            console.print("stopping Attune ...")
            # Cancelling unwinds whatever step is running, then the exit stack stops the rest.
            current.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop)

    try:
        async with AsyncExitStack() as stack:
            children = await bring_up(settings, stack)
            await watch_children(children)
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
        console.print("Attune stopped.")
        return 0
    except (ChildExited, TimeoutError, ConnectionError, OSError, AttuneError) as error:
        console.print(f"[bold red]Attune could not keep running:[/] {error}")
        return 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 1
