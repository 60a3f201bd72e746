"""What every `attune` command shares: settings, and errors printed as one line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from attune.config import Settings, SettingsError, load_settings
from attune.errors import AttuneError
from attune.logs import configure_logging

errors = Console(stderr=True, highlight=False)


def json_object_option(option: str, text: str, *, example: str) -> dict[str, Any]:
    """The option's value as a JSON object, or exit 2 with a message naming the option."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        errors.print(f"[bold red]attune:[/] {option} is not JSON: {error}")
        raise typer.Exit(code=2) from None
    if not isinstance(value, dict):
        errors.print(f"[bold red]attune:[/] {option} must be a JSON object, like '{example}'")
        raise typer.Exit(code=2)
    return value


def cli_settings() -> Settings:
    """Load settings or stop with exit code 2 and a message that names the bad setting."""
    try:
        settings = load_settings()
    except SettingsError as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=2) from None
    configure_logging(settings.log_level)
    return settings


def run_checked(step: Callable[[], None]) -> None:
    """Run `step`; a bad setting exits 2, an unreachable or refusing API exits 1."""
    try:
        step()
    except SettingsError as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=2) from None
    except (ConnectionError, OSError, AttuneError) as error:
        errors.print(f"[bold red]attune:[/] {error}")
        raise typer.Exit(code=1) from None


def stamp_text(stamp: Any) -> str:
    """An API timestamp as a table shows it (`2026-12-01 09:00:00`), or `never`."""
    return stamp.replace("T", " ")[:19] if isinstance(stamp, str) else "never"


class Output(StrEnum):
    """How a list command prints: a table for people, the API's items as JSON for scripts."""

    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table or json.")]


def print_items(
    path: str, output: Output, table: Callable[[Sequence[Mapping[str, Any]]], Table | str]
) -> None:
    """GET `path` from the API and print its page's items; exits as `run_checked` does."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        items = call_api(settings, "GET", path)["items"]
        if output is Output.JSON:
            typer.echo(json.dumps(items, indent=2))
        else:
            Console(highlight=False).print(table(items))

    run_checked(step)
