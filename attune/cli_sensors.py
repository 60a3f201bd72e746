"""`attune sensor ...`: sensors and how each is doing, through the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from attune.cli_support import Output, OutputOption, print_items, query_string
from attune.cli_views import Column, stamp, table_of, text

sensor_app = typer.Typer(
    help="Sensors: pack code that watches something and emits events.", no_args_is_help=True
)


@sensor_app.callback()
def sensors() -> None:
    """Sensors: pack code that watches something and emits events."""
    # A callback keeps `sensor` a group, so `attune sensor list` stays `list` as more come.


@sensor_app.command("list")
def sensor_list(
    pack: Annotated[str | None, typer.Option(help="Only this pack's sensors.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, in ref order.")] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List sensors with their status: running, starting, failing (and why) or disabled."""
    print_items(f"/sensors{query_string(limit=limit, pack=pack)}", output, sensor_table)


def _every(sensor: Mapping[str, Any]) -> str:
    interval = sensor.get("poll_interval_seconds")
    return f"{interval}s" if interval is not None else "-"


def _triggers(sensor: Mapping[str, Any]) -> str:
    return ", ".join(sensor.get("trigger_refs") or [])


# One row per sensor; an error's first line only.
sensor_table = table_of(
    [
        Column("REF", text("ref")),
        Column("STATUS", text("status"), styled=True),
        Column("EVERY", _every, justify="right"),
        Column("LAST POLL", stamp("last_poll_at")),
        Column("TRIGGERS", _triggers, wrap=True),
        Column("ERROR", text("last_error"), wrap=True),
    ],
    "(no sensors)",
)
