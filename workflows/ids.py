"""Workflow ids: one workflow per execution row, ever."""

from __future__ import annotations


def workflow_id_for(execution_id: int) -> str:
    """The workflow id of an execution."""
    return f"execution-{execution_id}"
