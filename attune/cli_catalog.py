"""`attune action|trigger|policy list|get`: what packs registered, through the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from attune.cli_support import Output, OutputOption, View, print_item, print_items, query_string
from attune.cli_views import Column, detail, enabled, table_of, text

LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="How many, in ref order.")]
PackOption = Annotated[str | None, typer.Option(help="Only this pack's.")]
RefArgument = Annotated[str, typer.Argument(help="The ref, pack.name.")]

action_app = typer.Typer(help="Actions: what executions run.", no_args_is_help=True)
trigger_app = typer.Typer(help="Triggers: the kinds of event rules match.", no_args_is_help=True)
policy_app = typer.Typer(
    help="Policies: actions' concurrency and rate limits.", no_args_is_help=True
)


def one(ref: str) -> str:
    """A ref as one path segment."""
    return quote(ref, safe="")


ACTIONS = table_of(
    [
        Column("REF", text("ref")),
        Column("RUNNER", text("runner_type")),
        Column("STATE", enabled, styled=True),
        Column("DESCRIPTION", text("description"), wrap=True),
    ],
    "(no actions)",
)


def _webhook(item: Any) -> str:
    return "signed" if item.get("has_webhook_secret") else "-"


TRIGGERS = table_of(
    [
        Column("REF", text("ref")),
        Column("TYPE", text("trigger_type")),
        Column("STATE", enabled, styled=True),
        Column("WEBHOOK", _webhook),
        Column("DESCRIPTION", text("description"), wrap=True),
    ],
    "(no triggers)",
)


def add_list_and_get(app: typer.Typer, kind: str, table: View, shows: str) -> None:
    """`list [--pack] [--limit] [-o]` and `get REF [-o]` of the catalog's `kind` (`actions`)."""

    def listing(
        pack: PackOption = None, limit: LimitOption = 100, output: OutputOption = Output.TABLE
    ) -> None:
        print_items(f"/{kind}{query_string(pack=pack, limit=limit)}", output, table)

    def showing(ref: RefArgument, output: OutputOption = Output.TABLE) -> None:
        print_item(f"/{kind}/{one(ref)}", output, detail)

    listing.__doc__ = f"List {kind}, in ref order."
    showing.__doc__ = f"Show one of the {kind}, {shows}."
    app.command("list")(listing)
    app.command("get")(showing)


add_list_and_get(action_app, "actions", ACTIONS, "its parameters' JSON Schema included")
add_list_and_get(trigger_app, "triggers", TRIGGERS, "its payload's JSON Schema included")


def _concurrency(item: Any) -> str:
    limit = item.get("concurrency")
    return str(limit["limit"]) if isinstance(limit, dict) and "limit" in limit else "-"


def _rate(item: Any) -> str:
    rate = item.get("rate_limit")
    if not isinstance(rate, dict):
        return "-"
    return f"{rate.get('per_second')}/s"


POLICIES = table_of(
    [
        Column("REF", text("ref")),
        Column("ACTION", text("action")),
        Column("STATE", enabled, styled=True),
        Column("CONCURRENCY", _concurrency, justify="right"),
        Column("METHOD", text("method")),
        Column("RATE", _rate),
    ],
    "(no policies)",
)


@policy_app.command("list")
def policy_list(
    pack: PackOption = None,
    action: Annotated[str | None, typer.Option(help="Only this action's.")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List policies: the action each limits, its concurrency, method and rate limit."""
    path = f"/policies{query_string(pack=pack, action=action, limit=limit)}"
    print_items(path, output, POLICIES)


@policy_app.command("get")
def policy_get(ref: RefArgument, output: OutputOption = Output.TABLE) -> None:
    """Show a policy."""
    print_item(f"/policies/{one(ref)}", output, detail)
