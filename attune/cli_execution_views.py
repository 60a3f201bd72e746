"""How the CLI shows executions: a table of many, one in full (what it ran, how it ended,
its output), and a workflow's tree of children."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from attune.cli_views import STATUS_STYLES, Column, detail, stamp, table_of, text

# `db.models.enums.TERMINAL_EXECUTION_STATUSES`, named here so the CLI need not load the
# database layer (a test keeps the two equal).
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "timeout", "abandoned"})
# What `get` shows first, in this order; the rest of the API's fields follow.
HEADLINE = (
    "id",
    "action_ref",
    "status",
    "parameters",
    "error",
    "created",
    "started_at",
    "ended_at",
    "rule_ref",
    "parent_id",
    "rerun_of",
    "queue_position",
    "waiting_inquiry",
    "web_ui_url",
)
STREAMS = ("stdout", "stderr")


def duration(item: Mapping[str, Any]) -> str:
    result = item.get("result")
    seconds = result.get("duration_seconds") if isinstance(result, dict) else None
    return f"{seconds:.2f}s" if isinstance(seconds, int | float) else "-"


EXECUTIONS = table_of(
    [
        Column("ID", text("id"), justify="right"),
        Column("ACTION", text("action_ref")),
        Column("STATUS", text("status"), styled=True),
        Column("CREATED", stamp("created")),
        Column("TOOK", duration, justify="right"),
        Column("RULE", text("rule_ref")),
        Column("PARENT", text("parent_id"), justify="right"),
    ],
    "(no executions)",
)


def execution_view(execution: Mapping[str, Any], *, with_output: bool = True) -> RenderableType:
    """The execution's headline fields, then its result (a runner's exit code and the like, or
    a workflow's value) as JSON, then (`with_output`) its stdout and stderr as text."""
    shown = {name: execution[name] for name in HEADLINE if execution.get(name) is not None}
    parts: list[RenderableType] = [detail(shown)]
    result = execution.get("result")
    streams: dict[str, Any] = {}
    if isinstance(result, dict):
        # A runner's result carries its output, shown below as text; the rest as JSON.
        result = {name: value for name, value in result.items() if name not in STREAMS}
        kept = STREAMS if with_output else ()
        streams = {name: execution["result"][name] for name in kept if name in execution["result"]}
    if result not in (None, {}):
        parts += [Text("\nresult", style="bold"), Text(json.dumps(result, indent=2))]
    for stream, output in streams.items():
        if output:
            parts += [Text(f"\n{stream}", style="bold"), Text(str(output).rstrip("\n"))]
    return Group(*parts)


def status_line(execution: Mapping[str, Any]) -> Text:
    """`execution 12 core.echo: running`, the status coloured."""
    status = str(execution["status"])
    line = Text(f"execution {execution['id']} {execution['action_ref']}: ")
    line.append(status, style=STATUS_STYLES.get(status, ""))
    return line


def tree_view(root: Mapping[str, Any], children: Mapping[int, Sequence[Mapping[str, Any]]]) -> Tree:
    """A workflow execution and its children, theirs below them, oldest first."""

    def label(execution: Mapping[str, Any]) -> Text:
        return status_line(execution).append(f"  {duration(execution)}", style="dim")

    tree = Tree(label(root))
    below = [(tree, root)]
    while below:
        branch, parent = below.pop()
        for child in children.get(int(parent["id"]), ()):
            below.append((branch.add(label(child)), child))
    return tree
