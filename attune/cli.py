"""The `attune` command line."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated
from urllib.parse import urlencode

import typer
import uvicorn
from rich.console import Console

from attune.cli_artifacts import artifact_app
from attune.cli_catalog import action_app, policy_app, trigger_app
from attune.cli_events import enforcement_app, event_app
from attune.cli_executions import execution_app
from attune.cli_identities import identity_app, login, logout, token_app, whoami
from attune.cli_keys import key_app
from attune.cli_packs import pack_app
from attune.cli_purge import purge
from attune.cli_rules import rule_app
from attune.cli_run import run
from attune.cli_sensors import sensor_app
from attune.cli_support import Output, OutputOption, json_object_option, render
from attune.cli_support import cli_settings as _settings
from attune.cli_support import run_checked as _run_checked
from attune.cli_workers import worker_app
from attune.config import (
    required_database_url,
    temporal_target,
)
from attune.encryption_key import generate_encryption_key

app = typer.Typer(help="Attune: event-driven automation on Temporal.", no_args_is_help=True)
app.add_typer(pack_app, name="pack")
inquiry_app = typer.Typer(
    help="List and answer inquiries: executions waiting for a person.", no_args_is_help=True
)
app.add_typer(inquiry_app, name="inquiry")
app.add_typer(execution_app, name="execution")
app.add_typer(artifact_app, name="artifact")
errors = Console(stderr=True, highlight=False)
app.add_typer(action_app, name="action")
app.add_typer(trigger_app, name="trigger")
app.add_typer(rule_app, name="rule")
app.add_typer(policy_app, name="policy")
app.add_typer(event_app, name="event")
app.add_typer(enforcement_app, name="enforcement")
app.add_typer(sensor_app, name="sensor")
app.add_typer(worker_app, name="worker")
app.add_typer(key_app, name="key")
app.add_typer(identity_app, name="identity")
app.add_typer(token_app, name="token")
app.command("run")(run)
app.command()(purge)
app.command()(login)
app.command()(logout)
app.command()(whoami)


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
    from attune.encryption_key import with_encryption_key

    settings = _settings()

    def step() -> None:
        uvicorn.run(
            # Workflow inputs it sends Temporal are encrypted: it needs the key.
            create_app(with_encryption_key(settings)),
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.value.lower(),
        )

    _run_checked(step)


@app.command()
def migrate() -> None:
    """Apply migrations, register the core pack and Attune's search attributes, and make sure
    an admin API token exists in the data directory."""
    from attune.bootstrap import prepare_database
    from attune.temporal_setup import connect_temporal, register_search_attributes
    from db import migrate as migrations

    settings = _settings()

    async def run() -> None:
        admin = await prepare_database(required_database_url(settings), settings)
        revision = await migrations.current_revision(required_database_url(settings))
        errors.print(f"database at revision {revision}; core pack registered")
        errors.print(f"admin API token in {admin.path}" + (" (new)" if admin.created else ""))
        client = await connect_temporal(
            temporal_target(settings),
            settings.temporal_namespace,
            keys=settings.encryption_key_ring,
        )
        added = await register_search_attributes(client, settings.temporal_namespace)
        errors.print(f"search attributes added: {', '.join(added) or 'none (all present)'}")

    _run_checked(lambda: asyncio.run(run()))


@app.command()
def ping() -> None:
    """Round trip through Temporal and a worker to PostgreSQL, and report how long it took."""
    from attune.encryption_key import with_encryption_key
    from attune.temporal_setup import connect_temporal
    from workflows.ping import PingWorkflow

    settings = _settings()

    async def run() -> None:
        # The ping's input and result are encrypted like every payload: it needs the key.
        settings_with_key = with_encryption_key(settings)
        client = await connect_temporal(
            temporal_target(settings),
            settings.temporal_namespace,
            keys=settings_with_key.encryption_key_ring,
        )
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


@app.command("codec-endpoint")
def codec_endpoint() -> None:
    """Print the codec endpoint to give a Temporal Web UI (TEMPORAL_CODEC_ENDPOINT): the
    API's address as browsers reach it (ATTUNE_API_URL) and a secret of ATTUNE_ENCRYPTION_KEY."""
    from attune.encryption_key import with_encryption_key
    from attune.web_ui_codec import web_ui_codec_endpoint

    settings = _settings()

    def step() -> None:
        typer.echo(web_ui_codec_endpoint(with_encryption_key(settings)))

    _run_checked(step)


@inquiry_app.command("list")
def inquiry_list(
    status: Annotated[
        str | None, typer.Option(help="Only this status: pending, responded, timeout, cancelled.")
    ] = None,
    assignee: Annotated[str | None, typer.Option(help="Only those naming this login.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    output: OutputOption = Output.TABLE,
) -> None:
    """List inquiries, newest first."""
    from attune.api_client import call_api
    from attune.inquiry_table import inquiry_table

    settings = _settings()
    query = urlencode(
        {
            name: value
            for name, value in {"status": status, "assignee": assignee, "limit": limit}.items()
            if value is not None
        }
    )

    def step() -> None:
        page = call_api(settings, "GET", f"/inquiries?{query}")
        render(page["items"], output, inquiry_table)

    _run_checked(step)


@inquiry_app.command("respond")
def inquiry_respond(
    id: Annotated[int, typer.Argument(help="The inquiry's id (see `attune inquiry list`).")],
    data: Annotated[str, typer.Option(help="The answer, a JSON object: '{\"approve\": true}'.")],
    output: OutputOption = Output.TABLE,
) -> None:
    """Answer an inquiry as the CLI's identity; its execution then resumes."""
    from attune.api_client import call_api

    settings = _settings()
    response = json_object_option("--data", data, example='{"approve": true}')

    def step() -> None:
        inquiry = call_api(settings, "POST", f"/inquiries/{id}/respond", {"response": response})
        render(inquiry, output, lambda answered: f"inquiry {answered['id']} {answered['status']}")

    _run_checked(step)


def main() -> None:
    app()
