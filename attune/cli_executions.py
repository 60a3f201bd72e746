"""`attune execution run|re-run`: runs of actions through the API, sent once however often
they are retried (one `Idempotency-Key` per command)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from attune.cli_support import cli_settings, json_object_option, run_checked

execution_app = typer.Typer(help="Work with executions: runs of actions.", no_args_is_help=True)


@execution_app.command("run")
def execution_run(
    action: Annotated[str, typer.Argument(help="The action to run, e.g. core.echo.")],
    parameters: Annotated[
        str, typer.Option(help='A JSON object of the action\'s parameters: \'{"message": "hi"}\'.')
    ] = "{}",
) -> None:
    """Run an action now; prints the new execution. Retried with one Idempotency-Key when
    the API gives no answer, so it runs once."""
    from attune.api_client import call_api

    settings = cli_settings()
    given = json_object_option("--parameters", parameters, example='{"message": "hi"}')

    def step() -> None:
        body = {"action": action, "parameters": given}
        execution = call_api(settings, "POST", "/executions", body, idempotent=True)
        typer.echo(json.dumps(execution, indent=2))

    run_checked(step)


@execution_app.command("re-run")
def execution_rerun(
    id: Annotated[int, typer.Argument(min=1, help="The execution to run again.")],
    parameters: Annotated[
        str | None,
        typer.Option(help='A JSON object of parameters to replace: \'{"message": "hi"}\'.'),
    ] = None,
) -> None:
    """Run an execution's action again with its parameters (and --parameters over them).
    Retried with one Idempotency-Key when the API gives no answer, so it runs once."""
    from attune.api_client import call_api

    settings = cli_settings()
    given: dict[str, Any] = {}
    if parameters is not None:
        given = json_object_option("--parameters", parameters, example='{"message": "hi"}')

    def step() -> None:
        path = f"/executions/{id}/re-run"
        execution = call_api(settings, "POST", path, {"parameters": given}, idempotent=True)
        typer.echo(json.dumps(execution, indent=2))

    run_checked(step)
