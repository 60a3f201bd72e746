"""Workflow ids and types: one workflow per execution row, ever."""

from __future__ import annotations

EXECUTION_WORKFLOW = "attune.Execution"
"""Runs one action (or waits for a person, for an `inquirer`)."""
PACK_WORKFLOW = "attune.PackWorkflow"
"""Runs a python-workflow action's class, in Temporal's sandbox."""


def workflow_id_for(execution_id: int) -> str:
    """The workflow id of an execution."""
    return f"execution-{execution_id}"


TIMER_FIRING_WORKFLOW = "attune.TimerFiring"
"""One firing of a timer rule's schedule: turns it into that rule's event."""


def schedule_id_for(rule_ref: str) -> str:
    """The id of a timer rule's Temporal Schedule (Web UI's Schedules page, `temporal
    schedule list`)."""
    return f"rule-{rule_ref}"
