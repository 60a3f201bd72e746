"""`attune purge`: delete old history now, as the workers' retention purge does, or count
what it would delete (`--dry-run`).

It works on the database itself, like `attune migrate` (StackStorm's `st2-purge-executions`
does the same): ATTUNE_DATABASE_URL, or the embedded PostgreSQL `attune up` runs.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from attune.cli_support import Output, OutputOption, cli_settings, errors, render, run_checked
from attune.config import Settings, SettingsError
from attune.errors import Conflict

AGE = re.compile(r"(?P<amount>\d+)(?P<unit>[dhms]?)")
UNITS = {"d": "days", "": "days", "h": "hours", "m": "minutes", "s": "seconds"}
AgeOption = Annotated[
    str | None,
    typer.Option(
        help="How old: 30d, 12h, 90m, 3600s (a bare number is days); 0 keeps them all. "
        "Default: the retention setting."
    ),
]


def age(option: str, text: str) -> timedelta:
    """`30d` as 30 days, and so on; exit 2 naming the option for anything else."""
    found = AGE.fullmatch(text.strip())
    if found is None:
        errors.print(f"[bold red]attune:[/] {option}: {text!r} is not an age like 30d, 12h or 90m")
        raise typer.Exit(code=2)
    return timedelta(**{UNITS[found["unit"]]: int(found["amount"])})


def purge(
    older_than: AgeOption = None,
    events_older_than: AgeOption = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would go; delete nothing.")] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Delete ended executions (with the enforcements that started them) and events older
    than the given ages, workers' rows gone a week, and artifacts past their own
    retention; nothing in flight is touched."""
    settings = cli_settings()
    executions = age("--older-than", older_than or f"{settings.retention_executions_days}d")
    events = age("--events-older-than", events_older_than or f"{settings.retention_events_days}d")

    def step() -> None:
        counts = asyncio.run(_purge(settings, executions, events, dry_run=dry_run))
        render(counts, output, lambda found: _table(found, dry_run))

    run_checked(step)


async def _purge(
    settings: Settings, executions: timedelta, events: timedelta, *, dry_run: bool
) -> dict[str, int]:
    from attune.artifacts.store import store_from
    from attune.retention import cutoffs_for, first_to_purge, purge_history
    from db.engine import create_engine, create_session_factory

    now = datetime.now(UTC)
    cutoffs = cutoffs_for(executions, events, now)
    engine = create_engine(_database_url(settings))
    console = Console(stderr=True, highlight=False)
    try:
        async with first_to_purge(engine) as first:
            if not first and not dry_run:
                raise Conflict("a worker is purging right now; try again when it is done")
            with console.status("purging ..." if not dry_run else "counting ...") as status:

                def progress(kind: str, deleted: int) -> None:
                    status.update(f"purging: {deleted:,} {kind} deleted so far ...")

                counts = await purge_history(
                    create_session_factory(engine),
                    cutoffs,
                    dry_run=dry_run,
                    progress=progress,
                    now=now,
                    store=store_from(settings),
                )
    finally:
        await engine.dispose()
    return asdict(counts)


def _database_url(settings: Settings) -> str:
    from attune.embedded_postgres import (
        EMBEDDED_DATABASE,
        running_server_socket_dir,
        socket_database_url,
    )

    if settings.database_url is not None:
        return settings.database_url
    socket_dir = running_server_socket_dir(settings.data_dir / "postgres")
    if socket_dir is None:
        raise SettingsError(
            "ATTUNE_DATABASE_URL: not set, and no embedded PostgreSQL runs in "
            f"{settings.data_dir / 'postgres'} (start it with `attune up`)"
        )
    return socket_database_url(socket_dir, EMBEDDED_DATABASE)


def _table(counts: dict[str, int], dry_run: bool) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("KIND")
    table.add_column("WOULD GO" if dry_run else "DELETED", justify="right")
    for kind, count in counts.items():
        table.add_row(kind, f"{count:,}")
    return table
