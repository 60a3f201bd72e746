"""What packs register: packs, actions, triggers, rules and policies, as the API shows them.

Policies are also written through the API: their bodies reuse the limit models of
`attune.packs.definitions`, so a file and a request obey the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from attune.packs.definitions import Concurrency, Method, PolicyLimits, RateLimit, nested_limits
from attune.packs.fields import NAME
from db.models import Policy
from db.models.base import REF_PATTERN


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
    trigger_parameters: dict[str, Any]
    action_ref: str
    criteria: dict[str, Any]
    action_parameters: dict[str, Any]
    enabled: bool


class RuleUpdate(BaseModel):
    """What the API may change of a rule; the rest comes from its pack's file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = Field(description="False stops the rule; a timer rule's schedule pauses.")


class PolicyCreate(PolicyLimits):
    """A new policy; it belongs to its action's pack, so its ref is `<that pack>.<name>`."""

    name: str = Field(pattern=NAME.pattern, description="Lowercase letters, digits, _ and -.")
    action: str = Field(pattern=REF_PATTERN, description="The action's ref, `pack.name`.")
    enabled: bool = True
    label: str | None = None
    description: str | None = None


class PolicyUpdate(BaseModel):
    """Only the fields given change. `concurrency` or `rate_limit` null removes that limit,
    an object replaces it whole; at least one of them must remain. A policy's name and
    action never change: delete it and create another."""

    model_config = ConfigDict(extra="forbid", strict=True)

    concurrency: Concurrency | None = None
    method: Method | None = None
    rate_limit: RateLimit | None = None
    enabled: bool | None = None
    label: str | None = None
    description: str | None = None

    @field_validator("method", "enabled", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Left out, they keep their value; null would mean nothing.
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value


class PolicyRead(BaseModel):
    """A policy, nested as it is written (`pack` and `action` are refs)."""

    ref: str
    pack: str
    name: str
    action: str
    concurrency: Concurrency | None
    method: Method
    rate_limit: RateLimit | None
    enabled: bool
    label: str | None
    description: str | None
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, policy: Policy) -> PolicyRead:
        return cls.model_validate(
            {
                "ref": policy.ref,
                "pack": policy.pack_ref,
                "name": policy.name,
                "action": policy.action_ref,
                **nested_limits(policy),
                "enabled": policy.enabled,
                "label": policy.label,
                "description": policy.description,
                "created": policy.created,
                "updated": policy.updated,
            }
        )


class PackRegister(BaseModel):
    path: str = Field(
        min_length=1,
        max_length=4096,
        description="Absolute path of the pack folder on the API's machine, inside one of "
        "the folders packs may be registered from (ATTUNE_PACKS_DIRS).",
    )


class WebhookSecretRead(BaseModel):
    trigger: str
    secret: str = Field(description="Shown once: sign webhook bodies with it (HMAC-SHA256).")
