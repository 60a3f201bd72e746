"""What workflows and the inquiry activities pass each other.

An inquiry's prompt and its execution's parameters stay in PostgreSQL. The answer's schema
and the assignees do travel (the Update validator needs them, and may not read a
database), and so does the answer itself, since it arrives as the Update's argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activities.execution_types import ExecutionOutcome


@dataclass
class OpenInquiryInput:
    """Open the inquiry of an execution of an `inquirer` action (`core.ask`)."""

    execution_id: int


@dataclass
class OpenedInquiry:
    """A pending inquiry, with what the workflow needs to judge answers on its own."""

    inquiry_id: int
    response_schema: dict[str, Any] = field(default_factory=dict)
    assignees: list[str] = field(default_factory=list)
    # ISO 8601, UTC: when the inquiry expires. The workflow times its wait from this, so a
    # retried activity or a replay never restarts the clock.
    timeout_at: str = ""


@dataclass
class OpenInquiryResult:
    """Either the inquiry the execution now waits on, or how the execution ended instead
    (bad parameters, or cancelled before it could ask)."""

    inquiry: OpenedInquiry | None = None
    outcome: ExecutionOutcome | None = None


@dataclass
class RecordResponseInput:
    inquiry_id: int
    responder: str
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class InquiryState:
    """The inquiry's status as its row holds it after a write; `changed` says whether this
    write was the one that moved it."""

    inquiry_id: int
    status: str
    changed: bool


@dataclass
class CloseInquiryInput:
    """End a pending inquiry without an answer: `timeout` or `cancelled`."""

    inquiry_id: int
    status: str


@dataclass
class FinishAskInput:
    """End an `inquirer` execution from its inquiry's ending; `cancelled` ends it cancelled
    and cancels any inquiry it still has pending."""

    execution_id: int
    inquiry_id: int | None = None
    cancelled: bool = False
