"""`attune pack list|get|register|remove`: packs through the API."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.text import Text

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    print_item,
    print_items,
    query_string,
    render,
    run_checked,
)
from attune.cli_views import Column, detail, stamp, table_of, text

pack_app = typer.Typer(help="List, show, register and remove packs.", no_args_is_help=True)
RefArgument = Annotated[str, typer.Argument(help="The pack's ref.")]
# What a registration reports, kind by kind, in this order.
KINDS = ("actions", "triggers", "rules", "policies", "sensors", "permission_sets")
CHANGES = ("created", "updated", "removed")

PACKS = table_of(
    [
        Column("REF", text("ref")),
        Column("VERSION", text("version")),
        Column("UPDATED", stamp("updated")),
        Column("DESCRIPTION", text("description"), wrap=True),
    ],
    "(no packs)",
)


@pack_app.command("list")
def pack_list(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, in ref order.")] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List packs: ref, version, when last registered, description."""
    print_items(f"/packs{query_string(limit=limit)}", output, PACKS)


@pack_app.command("get")
def pack_get(ref: RefArgument, output: OutputOption = Output.TABLE) -> None:
    """Show a pack (its config schema and the folder workers read it from included)."""
    print_item(f"/packs/{quote(ref, safe='')}", output, detail)


def registration(summary: Mapping[str, Any]) -> Text:
    """What registering changed: a line per kind that has components, naming the changed."""
    shown = Text(f"pack {summary['pack']} {summary['pack_change']}\n", style="bold")
    for kind in KINDS:
        changes = summary.get(kind) or {}
        parts = [f"{len(changes.get('unchanged') or [])} unchanged"]
        for change in CHANGES:
            if refs := changes.get(change):
                parts.append(f"{change} {', '.join(refs)}")
        if any(changes.get(change) for change in (*CHANGES, "unchanged")):
            shown.append(f"  {kind.replace('_', ' ')}: {'; '.join(parts)}\n")
    return shown


@pack_app.command("register")
def pack_register(
    path: Annotated[Path, typer.Argument(help="The pack folder (holding pack.yaml).")],
    output: OutputOption = Output.TABLE,
) -> None:
    """Load a pack folder into a running Attune: all of it, or nothing with the reasons.

    The folder is sent as an archive, so it may live anywhere on this machine, and the API
    on another."""
    from attune.api_client import call_api
    from attune.packs.archive_build import build_pack_archive

    settings = cli_settings()

    def step() -> None:
        with Console(stderr=True).status(f"registering {path} ..."):
            archive = build_pack_archive(path.resolve())
            summary = call_api(
                settings, "POST", "/packs/upload", content=archive, content_type="application/gzip"
            )
        render(summary, output, registration)

    run_checked(step)


def removal(removed: Mapping[str, Any]) -> str:
    counts = ", ".join(f"{removed[kind]} {kind.replace('_', ' ')}" for kind in KINDS)
    return f"pack {removed['pack']} removed, with {counts}"


@pack_app.command("remove")
def pack_remove(
    ref: RefArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Unregister a pack and all its components (its timers and sensors stop); executions,
    enforcements and events keep naming it. Refused while its actions run, or while other
    packs' rules or policies use it."""
    from attune.api_client import call_api

    settings = cli_settings()
    if not yes and not typer.confirm(f"Remove pack {ref} and all its components?"):
        raise typer.Exit(code=1)
    run_checked(
        lambda: render(
            call_api(settings, "DELETE", f"/packs/{quote(ref, safe='')}"), output, removal
        )
    )
