"""The `attune` command line."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import typer
import uvicorn
from rich.console import Console

from attune.config import (
    Settings,
    SettingsError,
    load_settings,
    required_database_url,
    temporal_target,
)
from attune.encryption_key import generate_encryption_key
from attune.logs import configure_logging

app = typer.Typer(help="Attune: event-driven automation on Temporal.", no_args_is_help=True)
errors = Console(stderr=True, highlight=False)


def _settings() -> Settings:
    """Load settings or stop with exit code 2 and a message that names the bad setting."""
    try:
        settings = load_settings()
    except SettingsError as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=2) from None
    configure_logging(settings.log_level)
    return settings


def _run_checked(step: Callable[[], None]) -> None:
    try:
        step()
    except SettingsError as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=2) from None
    except (ConnectionError, OSError) as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=1) from None


@app.command()
def up() -> None:
    """Run everything: embedded PostgreSQL and Temporal (unless configured), API and a worker."""
    from attune.launcher import run_up

    settings = _settings()
    code = 1

    def step() -> None:
        nonlocal code
        code = asyncio.run(run_up(settings))

    _run_checked(step)
    raise typer.Exit(code=code)


@app.command()
def api() -> None:
    """Serve the HTTP API (needs ATTUNE_DATABASE_URL; Temporal at TEMPORAL_ADDRESS)."""
    from api.main import create_app

    settings = _settings()

    def step() -> None:
        uvicorn.run(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.value.lower(),
        )

    _run_checked(step)


@app.command()
def worker() -> None:
    """Run a Temporal worker; start as many as you like, on any machine."""
    from attune.worker import run_worker

    settings = _settings()
    _run_checked(lambda: asyncio.run(run_worker(settings)))


@app.command()
def migrate() -> None:
    """Apply database migrations and register Attune's search attributes on the namespace."""
    from attune.temporal_setup import connect_temporal, register_search_attributes
    from db import migrate as migrations

    settings = _settings()

    async def run() -> None:
        await migrations.upgrade(required_database_url(settings))
        revision = await migrations.current_revision(required_database_url(settings))
        errors.print(f"database at revision {revision}")
        client = await connect_temporal(temporal_target(settings), settings.temporal_namespace)
        added = await register_search_attributes(client, settings.temporal_namespace)
        errors.print(f"search attributes added: {', '.join(added) or 'none (all present)'}")

    _run_checked(lambda: asyncio.run(run()))


@app.command()
def ping() -> None:
    """Round trip through Temporal and a worker to PostgreSQL, and report how long it took."""
    from attune.temporal_setup import connect_temporal
    from workflows.ping import PingWorkflow

    settings = _settings()

    async def run() -> None:
        client = await connect_temporal(temporal_target(settings), settings.temporal_namespace)
        started = time.perf_counter()
        result = await client.execute_workflow(
            PingWorkflow.run, id=f"ping-{uuid.uuid4()}", task_queue=settings.task_queue
        )
        elapsed = (time.perf_counter() - started) * 1000
        typer.echo(
            f"ok: worker on {result.worker_host} reached PostgreSQL {result.database_version} "
            f"in {elapsed:.0f} ms"
        )

    _run_checked(lambda: asyncio.run(run()))


@app.command()
def keygen() -> None:
    """Print a new random value for ATTUNE_ENCRYPTION_KEY."""
    typer.echo(generate_encryption_key())


def main() -> None:
    app()
