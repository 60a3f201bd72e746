"""What packs register: packs, actions, triggers and rules, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PackRead(_Read):
    id: int
    ref: str
    label: str
    description: str | None
    version: str
    author: str | None
    config_schema: dict[str, Any]
    path: str | None
    created: datetime
    updated: datetime


class _ContentRead(_Read):
    id: int
    ref: str
    pack_ref: str
    name: str
    label: str | None
    description: str | None
    created: datetime
    updated: datetime


class ActionRead(_ContentRead):
    runner_type: str
    entry_point: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the parameters.")
    timeout_seconds: int | None
    enabled: bool


class TriggerRead(_ContentRead):
    trigger_type: str
    payload_schema: dict[str, Any]
    enabled: bool
    has_webhook_secret: bool = Field(
        default=False, description="Whether webhooks may authenticate with an HMAC signature."
    )

    @classmethod
    def of(cls, trigger: Any) -> TriggerRead:
        return cls.model_validate(trigger).model_copy(
            update={"has_webhook_secret": trigger.webhook_secret is not None}
        )


class RuleRead(_ContentRead):
    trigger_ref: str
    action_ref: str
    criteria: dict[str, Any]
    action_parameters: dict[str, Any]
    enabled: bool


class PackRegister(BaseModel):
    path: str = Field(description="Absolute path of the pack folder on the API's machine.")


class WebhookSecretRead(BaseModel):
    trigger: str
    secret: str = Field(description="Shown once: sign webhook bodies with it (HMAC-SHA256).")
