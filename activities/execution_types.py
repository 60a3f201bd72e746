"""The data the execution workflow and its activities pass each other: ids and statuses,
and a bounded summary of how the run went for the Web UI.

Parameters, results and output stay in PostgreSQL; the summary holds the masked
parameters and the first few KB of output only, so Temporal's history never holds a
secret parameter and stays small however large an action's output is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

PACK_WORKFLOW_DEFAULT_LIMIT = timedelta(days=7)
PACK_WORKFLOW_MARGIN = timedelta(minutes=5)


@dataclass
class WorkflowCodeRef:
    """The code a pack workflow runs: its stored version, the module and the class in it."""

    digest: str
    module: str
    attribute: str


@dataclass
class ExecutionInput:
    """What `attune.Execution` (or, for a python-workflow, `attune.PackWorkflow`) needs to
    run one execution row."""

    execution_id: int
    action_ref: str
    # The action's own timeout; the activity enforces it, this only sizes Temporal's backstop.
    timeout_seconds: float | None = None
    # How long a silent worker may go before Temporal declares the run lost.
    heartbeat_timeout_seconds: float = 30.0
    # The action's runner: the workflow carries out some itself (`inquirer`) instead of
    # handing them to the run activity. None in histories written before it was passed.
    runner_type: str | None = None
    # FIFO admission: the place in the action's queue (None when the action has no
    # concurrency limit), whether a slot was granted as the row was written, and how many
    # executions waited ahead of it then.
    queue_position: int | None = None
    admitted: bool = True
    waiting_ahead: int = 0
    # The action's rate-limited task queue, when a policy limits its starts per second.
    activity_task_queue: str | None = None
    # A python-workflow's code, fixed when its workflow starts; None for other runners.
    code: WorkflowCodeRef | None = None

    @property
    def admission_queued(self) -> bool:
        """Whether the execution is admitted through its action's queue at all."""
        return self.queue_position is not None

    def workflow_time_limit(self) -> timedelta | None:
        """Temporal's own limit on a pack workflow: its action's timeout (a week without
        one) and a margin for its bookkeeping. What the workflow's own timer cannot stop (code
        that never yields, stuck in one workflow task) this ends; the reconciler then ends
        the row. None for other runners, whose run activity has its own limit."""
        if self.code is None:
            return None
        seconds = self.timeout_seconds or PACK_WORKFLOW_DEFAULT_LIMIT.total_seconds()
        return timedelta(seconds=seconds) + PACK_WORKFLOW_MARGIN


@dataclass
class RunExecutionInput:
    execution_id: int
    # Whether the run holds an admission slot to give back when it ends.
    admission_queued: bool = False


@dataclass
class FinishExecutionInput:
    """Close an execution that did not get to finish on its own (lost worker, cancel)."""

    execution_id: int
    status: str
    error: str | None = None
    admission_queued: bool = False


@dataclass
class ExecutionSummary:
    """What the Temporal Web UI shows of an execution (the workflow's result): enough for a
    person to see what ran and how it went, bounded however large the real output; the
    whole record is at `url`. Secret parameters are masked, as everywhere."""

    action: str
    url: str
    parameters: dict[str, Any] | str = field(default_factory=dict)
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    # The artifacts the run left, as "name: where its bytes download" (the first 20).
    artifacts: list[str] = field(default_factory=list)


@dataclass
class ExecutionOutcome:
    """How the execution ended, as recorded in its row."""

    execution_id: int
    status: str
    error: str | None = None
    # For the Web UI; None in histories written before it, and for pack workflows' children.
    summary: ExecutionSummary | None = None
