"""`attune worker`: run a worker, or (`attune worker list`) see the workers that recorded
themselves, alive, lost or stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    print_items,
    query_string,
    run_checked,
)
from attune.cli_views import Column, stamp, table_of, text

worker_app = typer.Typer(help="Run a worker, or list the workers.")


class State(StrEnum):
    """The API's `WorkerState`, named here so the CLI need not load the database layer."""

    ALIVE = "alive"
    LOST = "lost"
    INACTIVE = "inactive"


@worker_app.callback(invoke_without_command=True)
def worker(context: typer.Context) -> None:
    """Run a Temporal worker; start as many as you like, on any machine."""
    if context.invoked_subcommand is not None:
        return
    from attune.encryption_key import with_encryption_key
    from attune.worker import run_worker

    settings = cli_settings()
    run_checked(lambda: asyncio.run(run_worker(with_encryption_key(settings))))


@worker_app.command("list")
def worker_list(
    state: Annotated[State | None, typer.Option(help="Only workers in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List worker processes newest first: alive, lost (silent, never stopped) or inactive."""
    chosen = state.value if state is not None else None
    print_items(f"/workers{query_string(limit=limit, state=chosen)}", output, worker_table)


def _queues(worker: Mapping[str, Any]) -> str:
    return ", ".join(worker.get("task_queues") or [])


# One row per worker process.
worker_table = table_of(
    [
        Column("NAME", text("name")),
        Column("STATE", text("state"), styled=True),
        Column("TASK QUEUES", _queues, wrap=True),
        Column("VERSION", text("version")),
        Column("STARTED", stamp("started")),
        Column("LAST HEARTBEAT", stamp("last_heartbeat")),
    ],
    "(no workers)",
)
