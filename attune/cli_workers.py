"""`attune worker`: run a worker, or (`attune worker list`) see the workers that recorded
themselves, alive, lost or stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.table import Table
from rich.text import Text

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    print_items,
    run_checked,
    stamp_text,
)

worker_app = typer.Typer(help="Run a worker, or list the workers.")
STATE_STYLES = {"alive": "green", "lost": "bold red", "inactive": "dim"}


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
    query = urlencode({"limit": limit} | ({"state": state.value} if state is not None else {}))
    print_items(f"/workers?{query}", output, worker_table)


def worker_table(workers: Sequence[Mapping[str, Any]]) -> Table | str:
    """One row per worker process; `(no workers)` when none recorded itself."""
    if not workers:
        return "(no workers)"
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NAME", "STATE", "TASK QUEUES", "VERSION", "STARTED", "LAST HEARTBEAT"):
        table.add_column(column, no_wrap=column != "TASK QUEUES")
    for worker in workers:
        state = str(worker["state"])
        # Text, not markup: a host name may hold "[...]", which rich would read.
        table.add_row(
            Text(str(worker["name"])),
            Text(state, style=STATE_STYLES.get(state, "")),
            Text(", ".join(worker.get("task_queues") or [])),
            Text(str(worker.get("version") or "-")),
            Text(stamp_text(worker.get("started"))),
            Text(stamp_text(worker.get("last_heartbeat"))),
        )
    return table
