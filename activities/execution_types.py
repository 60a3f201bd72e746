"""The data the execution workflow and its activities pass each other: ids and statuses only.

Parameters, results and output stay in PostgreSQL, so Temporal's history never holds a
secret parameter and stays small however large an action's output is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExecutionInput:
    """What `attune.Execution` needs to run one execution row."""

    execution_id: int
    action_ref: str
    # The action's own timeout; the activity enforces it, this only sizes Temporal's backstop.
    timeout_seconds: float | None = None
    # How long a silent worker may go before Temporal declares the run lost.
    heartbeat_timeout_seconds: float = 30.0
    # The action's runner: the workflow carries out some itself (`inquirer`) instead of
    # handing them to the run activity. None in histories written before it was passed.
    runner_type: str | None = None


@dataclass
class RunExecutionInput:
    execution_id: int


@dataclass
class FinishExecutionInput:
    """Close an execution that did not get to finish on its own (lost worker, cancel)."""

    execution_id: int
    status: str
    error: str | None = None


@dataclass
class ExecutionOutcome:
    """How the execution ended, as recorded in its row."""

    execution_id: int
    status: str
    error: str | None = None
