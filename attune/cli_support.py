"""What every `attune` command shares: settings, and errors printed as one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
import yaml
from rich.console import Console, RenderableType
from rich.text import Text

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
    """How a command prints: a table or view for people, the API's JSON (or YAML) for scripts."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table, json or yaml.")]
View = Callable[[Any], "RenderableType"]


def query_string(**filters: Any) -> str:
    """`?name=value&...` of the filters given (None is left out), or "" when none is."""
    given = {name: value for name, value in filters.items() if value is not None}
    return f"?{urlencode(given)}" if given else ""


def render(value: Any, output: Output, view: View) -> None:
    """Print `value` (what the API answered) as `output` asks; `view` draws it for people."""
    if output is Output.JSON:
        typer.echo(json.dumps(value, indent=2))
    elif output is Output.YAML:
        typer.echo(yaml.safe_dump(value, sort_keys=False, allow_unicode=True), nl=False)
    else:
        shown = view(value)
        if isinstance(shown, str):
            typer.echo(shown)
        else:
            # Lines of text are not folded at the terminal's width; tables fit themselves.
            Console(highlight=False, soft_wrap=isinstance(shown, Text)).print(shown)


def print_items(path: str, output: Output, table: View) -> None:
    """GET `path` from the API and print its page's items; exits as `run_checked` does."""
    from attune.api_client import call_api

    settings = cli_settings()
    run_checked(lambda: render(call_api(settings, "GET", path)["items"], output, table))


def print_item(path: str, output: Output, view: View) -> None:
    """GET one thing at `path` from the API and print it; exits as `run_checked` does."""
    from attune.api_client import call_api

    settings = cli_settings()
    run_checked(lambda: render(call_api(settings, "GET", path), output, view))
