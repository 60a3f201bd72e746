"""Workflow ids and types: one workflow per execution row, ever."""

from __future__ import annotations

EXECUTION_WORKFLOW = "attune.Execution"
"""Runs one action (or waits for a person, for an `inquirer`)."""
PACK_WORKFLOW = "attune.PackWorkflow"
"""Runs a python-workflow action's class, in Temporal's sandbox."""


def workflow_id_for(execution_id: int) -> str:
    """The workflow id of an execution."""
    return f"execution-{execution_id}"
