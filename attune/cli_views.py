"""How the CLI draws what the API answers for people: tables of items, and one item's fields.

Every cell is rich `Text`, never markup: a ref, a payload or an error may hold "[...]",
which rich would read as a style.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from attune.cli_support import stamp_text

Cell = Callable[[Mapping[str, Any]], str]
# Colours of statuses and states wherever they appear.
STATUS_STYLES = {
    "completed": "green",
    "running": "cyan",
    "starting": "cyan",
    "failing": "bold red",
    "alive": "green",
    "enabled": "green",
    "failed": "bold red",
    "timeout": "bold red",
    "abandoned": "bold red",
    "lost": "bold red",
    "cancelled": "yellow",
    "canceling": "yellow",
    "disabled": "dim",
    "inactive": "dim",
}
CELL_WIDTH = 60


@dataclass(frozen=True)
class Column:
    """A column: its header and how a row's cell is read from an item."""

    header: str
    cell: Cell
    wrap: bool = False
    styled: bool = False  # coloured by STATUS_STYLES
    justify: JustifyMethod = "left"


def text(name: str) -> Cell:
    """The item's `name` as text on one line, cut at CELL_WIDTH; `-` when it has none."""
    return lambda item: one_line(item.get(name))


def stamp(name: str) -> Cell:
    """The item's timestamp `name` as `2026-12-01 09:00:00`, or `never`."""
    return lambda item: stamp_text(item.get(name))


def enabled(item: Mapping[str, Any]) -> str:
    return "enabled" if item.get("enabled") else "disabled"


def one_line(value: Any) -> str:
    """A value in a cell: strings as they are, others as compact JSON; first line, cut."""
    if value is None or value == "" or value == {} or value == []:
        return "-"
    shown = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    lines = shown.strip().splitlines() or [""]
    line = lines[0] + (" ..." if len(lines) > 1 else "")
    return line if len(line) <= CELL_WIDTH else line[: CELL_WIDTH - 3] + "..."


def table_of(columns: Sequence[Column], empty: str) -> Callable[[Any], Table | str]:
    """A view drawing items as a table of `columns`, or `empty` when there are none."""

    def draw(items: Sequence[Mapping[str, Any]]) -> Table | str:
        if not items:
            return empty
        table = Table(box=None, header_style="bold", pad_edge=False)
        for column in columns:
            table.add_column(column.header, no_wrap=not column.wrap, justify=column.justify)
        for item in items:
            cells = [(column, column.cell(item)) for column in columns]
            table.add_row(
                *(
                    Text(cell, style=STATUS_STYLES.get(cell, "") if column.styled else "")
                    for column, cell in cells
                )
            )
        return table

    return draw


def detail(item: Mapping[str, Any]) -> Table:
    """One item as FIELD / VALUE rows in the API's order; nested values as indented JSON."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for name, value in item.items():
        if isinstance(value, dict | list):
            shown = json.dumps(value, indent=2) if value else "-"
        elif value is None:
            shown = "-"
        else:
            shown = str(value)
        style = STATUS_STYLES.get(shown, "") if name in ("status", "state") else ""
        table.add_row(Text(name), Text(shown, style=style))
    return table
