"""`attune rule list|enable|disable`: rules through the API."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote, urlencode

import typer

from attune.cli_support import cli_settings, run_checked

rule_app = typer.Typer(help="List, enable and disable rules.", no_args_is_help=True)


@rule_app.command("list")
def rule_list(
    pack: Annotated[str | None, typer.Option(help="Only this pack's rules.")] = None,
    trigger: Annotated[str | None, typer.Option(help="Only rules on this trigger.")] = None,
) -> None:
    """List rules: ref, enabled, trigger (with its parameters) and action."""
    from attune.api_client import call_api

    settings = cli_settings()
    filters = {name: value for name, value in {"pack": pack, "trigger": trigger}.items() if value}
    query = urlencode({**filters, "limit": 1000})

    def step() -> None:
        page = call_api(settings, "GET", f"/rules?{query}")
        if not page["items"]:
            typer.echo("(no rules)")
        for rule in page["items"]:
            parameters = rule.get("trigger_parameters") or {}
            trigger_text = rule["trigger_ref"] + (
                f" {json.dumps(parameters)}" if parameters else ""
            )
            state = "enabled " if rule["enabled"] else "disabled"
            typer.echo(f"{rule['ref']}  {state}  {trigger_text} -> {rule['action_ref']}")

    run_checked(step)


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
