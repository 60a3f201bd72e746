"""What pack workflows (`attune.PackWorkflow`) and their activities pass each other.

Unlike `attune.Execution`, a pack workflow needs values in its history: its parameters
(secret ones only as references, see `attune.engine.secret_parameters`), its children's
parameters and results, and its own result. They are bounded where they enter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.execution_types import ExecutionInput, ExecutionOutcome
from activities.inquiry_types import OpenedInquiry


@dataclass
class BeginWorkflowInput:
    execution_id: int
    # Whether it holds an admission slot, to give back if it is cancelled before it began.
    admission_queued: bool = False


@dataclass
class BegunWorkflow:
    """The parameters to run with, or how the execution ended instead (cancelled before it
    began, or ended already)."""

    parameters: dict[str, Any] | None = None
    outcome: ExecutionOutcome | None = None


@dataclass
class FinishWorkflowInput:
    execution_id: int
    status: str
    result: Any = None
    error: str | None = None
    admission_queued: bool = False


@dataclass
class ChildRequest:
    """`run_action(ref, parameters)` in the workflow of `parent_id`, its `step`-th call."""

    parent_id: int
    step: int
    action_ref: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChildSearchAttributes:
    """What the child's search attributes are made of (the keys cannot travel as such)."""

    execution_id: int
    action_ref: str
    parent_id: int
    queued: bool


@dataclass
class ChildRequested:
    """The child row written (or found again), and how to start its workflow; or why the
    request was refused before any row was written (`refused`)."""

    refused: str | None = None
    execution_id: int | None = None
    workflow: str = ""
    input: ExecutionInput | None = None
    attributes: ChildSearchAttributes | None = None
    summary: str = ""


@dataclass
class ChildStarted:
    execution_id: int


@dataclass
class ChildEnding:
    """How a child ended, as `GET /executions/{id}` shows it."""

    execution_id: int
    status: str
    result: Any = None
    error: str | None = None


@dataclass
class WorkflowAsk:
    """`ask(...)` in the workflow of `execution_id`, its `step`-th call."""

    execution_id: int
    step: int
    prompt: str
    schema: dict[str, Any] | None = None
    assignees: list[str] | None = None
    ttl: int | None = None


@dataclass
class WorkflowAsked:
    """The pending inquiry a workflow now waits on, or why asking was refused."""

    inquiry: OpenedInquiry | None = None
    refused: str | None = None


@dataclass
class WorkflowArtifact:
    """An artifact a pack workflow attaches (`attune.sdk.attach_artifact`, `progress`).

    Its text passes through the (encrypted) history, so it is bounded by
    `WORKFLOW_ARTIFACT_MAX_BYTES`; larger files come from actions.
    """

    execution_id: int
    ref: str
    # "" for text whose type comes from its name.
    artifact_type: str
    name: str | None = None
    text: str | None = None
    data: Any = None


@dataclass
class AttachedArtifact:
    artifact_id: int | None = None
    refused: str | None = None


WORKFLOW_ARTIFACT_MAX_BYTES = 256 * 1024
