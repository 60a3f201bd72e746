"""`attune execution list|get|tail|cancel|re-run|tree` (and `run`, as `attune run`):
executions through the API. Runs are sent once however often they are retried (one
`Idempotency-Key` per command)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from attune.cli_execution_views import EXECUTIONS, execution_view, status_line, tree_view
from attune.cli_output import tail
from attune.cli_run import OutputOption, ParamsJsonOption, run, watch_to_the_end
from attune.cli_support import (
    Output,
    cli_settings,
    json_object_option,
    print_item,
    print_items,
    query_string,
    render,
    run_checked,
)

execution_app = typer.Typer(help="Work with executions: runs of actions.", no_args_is_help=True)
execution_app.command("run")(run)
execution_app.command("tail")(tail)
IdArgument = Annotated[int, typer.Argument(min=1, help="The execution's id.")]
# How many children of one execution `tree` reads; a workflow with more is cut, saying so.
TREE_PAGE = 1000


@execution_app.command("list")
def execution_list(
    action: Annotated[str | None, typer.Option(help="Only this action's.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status (e.g. failed).")] = None,
    rule: Annotated[str | None, typer.Option(help="Only those this rule started.")] = None,
    parent: Annotated[
        int | None, typer.Option(min=1, help="Only the children of this workflow execution.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    output: OutputOption = Output.TABLE,
) -> None:
    """List executions, newest first."""
    filters = query_string(action=action, status=status, rule=rule, parent=parent, limit=limit)
    print_items(f"/executions{filters}", output, EXECUTIONS)


@execution_app.command("get")
def execution_get(id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Show an execution: what it ran, how it ended, its output."""
    print_item(f"/executions/{id}", output, execution_view)


@execution_app.command("cancel")
def execution_cancel(id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Ask an execution to stop: it goes canceling, then cancelled once its processes are
    gone. Fails (exit 1) for one already ended."""
    from attune.api_client import call_api

    settings = cli_settings()
    run_checked(
        lambda: render(call_api(settings, "POST", f"/executions/{id}/cancel"), output, status_line)
    )


@execution_app.command("re-run")
def execution_rerun(
    id: Annotated[int, typer.Argument(min=1, help="The execution to run again.")],
    params_json: ParamsJsonOption = None,
    watch: Annotated[
        bool, typer.Option(help="Wait for the end, showing its status; exit 0 if completed.")
    ] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Run an execution's action again with its parameters (and --params-json over them).
    Retried with one Idempotency-Key when the API gives no answer, so it runs once."""
    from attune.api_client import call_api

    settings = cli_settings()
    given: dict[str, Any] = {}
    if params_json is not None:
        given = json_object_option("--params-json", params_json, example='{"message": "hi"}')

    def step() -> None:
        path = f"/executions/{id}/re-run"
        execution = call_api(settings, "POST", path, {"parameters": given}, idempotent=True)
        if watch:
            execution, _ = watch_to_the_end(settings, execution, output)
        render(execution, output, execution_view)
        if watch and execution["status"] != "completed":
            raise typer.Exit(code=1)

    run_checked(step)


@execution_app.command("tree")
def execution_tree(id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Show a workflow execution and the executions it started, theirs below them."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        root = call_api(settings, "GET", f"/executions/{id}")
        children: dict[int, list[dict[str, Any]]] = {}
        waiting = [root]
        while waiting:
            parent = waiting.pop()
            page = call_api(settings, "GET", f"/executions?parent={parent['id']}&limit={TREE_PAGE}")
            children[parent["id"]] = list(reversed(page["items"]))  # oldest first
            waiting += page["items"]
        if output is Output.TABLE:
            render(root, output, lambda _: tree_view(root, children))
        else:
            render(_nested(root, children), output, execution_view)

    run_checked(step)


def _nested(
    execution: Mapping[str, Any], children: Mapping[int, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The execution as the API gives it, with `children`, theirs inside them."""
    below = [_nested(child, children) for child in children.get(execution["id"], [])]
    return {**execution, "children": below}
