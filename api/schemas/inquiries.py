"""Inquiries, as the API shows them, and the body of an answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InquiryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    execution_id: int
    prompt: str
    response_schema: dict[str, Any] = Field(description="JSON Schema the answer must fit.")
    assignees: list[str] = Field(description="Who may answer; empty means any identity.")
    status: str = Field(description="pending, responded, timeout or cancelled.")
    response: dict[str, Any] | None
    responder: str | None = Field(description="Login of the identity that answered.")
    timeout_at: datetime | None = Field(description="When the inquiry expires unanswered.")
    responded_at: datetime | None
    created: datetime
    updated: datetime


class InquiryRespond(BaseModel):
    response: dict[str, Any] = Field(description="The answer: a JSON object fitting the schema.")


class WaitingInquiry(BaseModel):
    """The inquiry an execution is waiting on."""

    id: int
    since: datetime
    until: datetime | None

    @classmethod
    def of(cls, inquiry: Any) -> WaitingInquiry:
        return cls(id=inquiry.id, since=inquiry.created, until=inquiry.timeout_at)
