"""What happened: events, enforcements and executions, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.inquiries import WaitingInquiry


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EventCreate(BaseModel):
    trigger: str = Field(description="Ref of the trigger, e.g. `core.webhook`.")
    payload: dict[str, Any] = Field(default_factory=dict)


class IngestedRead(BaseModel):
    """What one event caused."""

    event_id: int
    enforcement_ids: list[int]
    execution_ids: list[int]


class EventRead(_Read):
    id: int
    trigger_ref: str
    payload: dict[str, Any]
    source_sensor_id: int | None = None
    created: datetime


class EnforcementRead(_Read):
    id: int
    rule_ref: str
    event_id: int | None
    trigger_ref: str
    status: str
    conditions: dict[str, Any]
    payload: dict[str, Any]
    parameters: dict[str, Any] | None
    error: str | None
    created: datetime


class ExecutionCreate(BaseModel):
    action: str = Field(description="Ref of the action, e.g. `core.echo`.")
    parameters: dict[str, Any] = Field(default_factory=dict)


class ExecutionRerun(BaseModel):
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Replace the original's parameters of these names (top-level keys); "
        "the others, secret ones included, are the original's.",
    )


class ExecutionRead(_Read):
    id: int
    action_ref: str
    status: str
    parameters: dict[str, Any] = Field(description="Secret parameters are shown as `********`.")
    result: Any = Field(
        description="exit_code, stdout, stderr (capped, with truncation flags), result "
        "(stdout parsed as JSON), duration_seconds, status and error."
    )
    error: str | None
    enforcement_id: int | None
    rule_ref: str | None
    trigger_ref: str | None
    parent_id: int | None
    rerun_of: int | None = Field(
        description="The execution this one runs again (`POST /executions/{id}/re-run`)."
    )
    executor_id: int | None
    workflow_id: str | None
    web_ui_url: str | None = Field(default=None, description="The workflow in the Temporal Web UI.")
    queue_position: int | None = Field(
        description="Its place in the action's admission queue, when a policy limits concurrency."
    )
    admitted_at: datetime | None = Field(description="When it was granted a concurrency slot.")
    released_at: datetime | None = Field(description="When it gave its slot (or place) back.")
    waiting_inquiry: WaitingInquiry | None = Field(
        default=None,
        description="While the execution waits for an answer: the inquiry, since and until when.",
    )
    created: datetime
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    updated: datetime
