"""Inquiries as a plain-text table for the terminal (`attune inquiry list`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

COLUMNS = ("ID", "STATUS", "EXECUTION", "EXPIRES", "ASSIGNEES", "PROMPT")
PROMPT_WIDTH = 60


def inquiry_table(inquiries: Sequence[Mapping[str, Any]]) -> str:
    """One line per inquiry under a header; `(no inquiries)` when there are none."""
    if not inquiries:
        return "(no inquiries)"
    rows = [COLUMNS, *(_row(inquiry) for inquiry in inquiries)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def _row(inquiry: Mapping[str, Any]) -> tuple[str, ...]:
    prompt = " ".join(str(inquiry.get("prompt", "")).split())  # one line, however it was written
    if len(prompt) > PROMPT_WIDTH:
        prompt = prompt[: PROMPT_WIDTH - 3] + "..."
    timeout_at = inquiry.get("timeout_at")
    expires = (
        datetime.fromisoformat(timeout_at).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if isinstance(timeout_at, str)
        else "-"
    )
    return (
        str(inquiry["id"]),
        str(inquiry["status"]),
        str(inquiry["execution_id"]),
        expires,
        ",".join(inquiry.get("assignees") or []) or "(anyone)",
        prompt,
    )
