"""`attune sensor ...`: sensors and how each is doing, through the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.table import Table
from rich.text import Text

from attune.cli_support import Output, OutputOption, print_items, stamp_text

sensor_app = typer.Typer(
    help="Sensors: pack code that watches something and emits events.", no_args_is_help=True
)
ERROR_WIDTH = 60
STATUS_STYLES = {"running": "green", "starting": "cyan", "failing": "bold red", "disabled": "dim"}


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
    query = urlencode({"limit": limit} | ({"pack": pack} if pack is not None else {}))
    print_items(f"/sensors?{query}", output, sensor_table)


def sensor_table(sensors: Sequence[Mapping[str, Any]]) -> Table | str:
    """One row per sensor; `(no sensors)` when there are none."""
    if not sensors:
        return "(no sensors)"
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("REF", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("EVERY", justify="right", no_wrap=True)
    table.add_column("LAST POLL", no_wrap=True)
    table.add_column("TRIGGERS")
    table.add_column("ERROR")
    for sensor in sensors:
        status = str(sensor["status"])
        interval = sensor.get("poll_interval_seconds")
        # Text, not markup: a ref or an error may hold "[...]", which rich would read.
        table.add_row(
            Text(str(sensor["ref"])),
            Text(status, style=STATUS_STYLES.get(status, "")),
            Text(f"{interval}s" if interval is not None else "-"),
            Text(stamp_text(sensor.get("last_poll_at"))),
            Text(", ".join(sensor.get("trigger_refs") or [])),
            Text(_first_line(sensor.get("last_error"))),
        )
    return table


def _first_line(error: Any) -> str:
    if not isinstance(error, str) or not error:
        return ""
    line = error.strip().splitlines()[0]
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 3] + "..."
