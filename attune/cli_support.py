"""What every `attune` command shares: settings, and errors printed as one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

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
