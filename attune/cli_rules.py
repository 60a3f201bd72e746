"""`attune rule list|get|enable|disable`: rules through the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

import typer

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    print_item,
    print_items,
    query_string,
    run_checked,
)
from attune.cli_views import Column, detail, enabled, one_line, table_of, text

rule_app = typer.Typer(help="List, show, enable and disable rules.", no_args_is_help=True)


def _trigger(rule: Mapping[str, Any]) -> str:
    parameters = rule.get("trigger_parameters") or {}
    return str(rule["trigger_ref"]) + (f" {one_line(parameters)}" if parameters else "")


RULES = table_of(
    [
        Column("REF", text("ref")),
        Column("STATE", enabled, styled=True),
        Column("TRIGGER", _trigger, wrap=True),
        Column("ACTION", text("action_ref")),
    ],
    "(no rules)",
)


@rule_app.command("list")
def rule_list(
    pack: Annotated[str | None, typer.Option(help="Only this pack's rules.")] = None,
    trigger: Annotated[str | None, typer.Option(help="Only rules on this trigger.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, in ref order.")] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List rules: ref, enabled, trigger (with its parameters) and action."""
    print_items(f"/rules{query_string(pack=pack, trigger=trigger, limit=limit)}", output, RULES)


@rule_app.command("get")
def rule_get(
    ref: Annotated[str, typer.Argument(help="The rule's ref, pack.name.")],
    output: OutputOption = Output.TABLE,
) -> None:
    """Show a rule: its trigger, criteria and the parameters it renders for its action."""
    print_item(f"/rules/{quote(ref, safe='')}", output, detail)


def _set_enabled(ref: str, enabled: bool) -> None:
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        rule = call_api(settings, "PATCH", f"/rules/{quote(ref, safe='')}", {"enabled": enabled})
        typer.echo(f"rule {rule['ref']} is {'enabled' if rule['enabled'] else 'disabled'}")

    run_checked(step)


@rule_app.command("enable")
def rule_enable(ref: Annotated[str, typer.Argument(help="The rule's ref, pack.name.")]) -> None:
    """Enable a rule (a timer rule's schedule resumes)."""
    _set_enabled(ref, True)


@rule_app.command("disable")
def rule_disable(ref: Annotated[str, typer.Argument(help="The rule's ref, pack.name.")]) -> None:
    """Disable a rule (a timer rule's schedule pauses)."""
    _set_enabled(ref, False)
