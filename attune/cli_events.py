"""`attune event list|get|emit` and `attune enforcement list|get`: what happened and what
rules made of it, through the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    json_object_option,
    print_item,
    print_items,
    query_string,
    render,
    run_checked,
)
from attune.cli_views import Column, detail, stamp, table_of, text

event_app = typer.Typer(help="Events: what sensors, webhooks and timers saw.", no_args_is_help=True)
enforcement_app = typer.Typer(
    help="Enforcements: a rule matching an event, and what it started.", no_args_is_help=True
)
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")]
IdArgument = Annotated[int, typer.Argument(min=1, help="Its id.")]

EVENTS = table_of(
    [
        Column("ID", text("id"), justify="right"),
        Column("TRIGGER", text("trigger_ref")),
        Column("CREATED", stamp("created")),
        Column("PAYLOAD", text("payload"), wrap=True),
    ],
    "(no events)",
)
ENFORCEMENTS = table_of(
    [
        Column("ID", text("id"), justify="right"),
        Column("RULE", text("rule_ref")),
        Column("EVENT", text("event_id"), justify="right"),
        Column("STATUS", text("status"), styled=True),
        Column("CREATED", stamp("created")),
        Column("ERROR", text("error"), wrap=True),
    ],
    "(no enforcements)",
)


@event_app.command("list")
def event_list(
    trigger: Annotated[str | None, typer.Option(help="Only events of this trigger.")] = None,
    limit: LimitOption = 50,
    output: OutputOption = Output.TABLE,
) -> None:
    """List events, newest first."""
    print_items(f"/events{query_string(trigger=trigger, limit=limit)}", output, EVENTS)


@event_app.command("get")
def event_get(id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Show an event and its payload."""
    print_item(f"/events/{id}", output, detail)


def ingested(answer: dict[str, Any]) -> str:
    """What an emitted event caused, in a line."""
    executions = ", ".join(str(id) for id in answer["execution_ids"]) or "none"
    return (
        f"event {answer['event_id']}: {len(answer['enforcement_ids'])} rule(s) matched, "
        f"executions started: {executions}"
    )


@event_app.command("emit")
def event_emit(
    trigger: Annotated[str, typer.Argument(help="The trigger's ref, e.g. core.webhook.")],
    payload: Annotated[
        str, typer.Option(help='The event\'s payload, a JSON object: \'{"host": "web1"}\'.')
    ] = "{}",
    output: OutputOption = Output.TABLE,
) -> None:
    """Emit an event as a sensor would: the rules on its trigger run. Retried with one
    Idempotency-Key when the API gives no answer, so it happens once."""
    from attune.api_client import call_api

    settings = cli_settings()
    body = {"trigger": trigger, "payload": json_object_option("--payload", payload, example="{}")}
    run_checked(
        lambda: render(
            call_api(settings, "POST", "/events", body, idempotent=True), output, ingested
        )
    )


@enforcement_app.command("list")
def enforcement_list(
    rule: Annotated[str | None, typer.Option(help="Only this rule's.")] = None,
    event: Annotated[int | None, typer.Option(min=1, help="Only this event's.")] = None,
    limit: LimitOption = 50,
    output: OutputOption = Output.TABLE,
) -> None:
    """List enforcements, newest first: the rule, the event, and whether it ran."""
    path = f"/enforcements{query_string(rule=rule, event=event, limit=limit)}"
    print_items(path, output, ENFORCEMENTS)


@enforcement_app.command("get")
def enforcement_get(id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Show an enforcement: its conditions, payload and the parameters it rendered."""
    print_item(f"/enforcements/{id}", output, detail)
