"""Keys, as the API shows them, and the body that puts one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from attune.keys.addresses import Scope
from attune.keys.bounds import MAX_DESCRIPTION_CHARS, MAX_TTL_SECONDS, MAX_VALUE_BYTES
from attune.keys.store import KeyView
from attune.keys.values import MASK


class KeyWrite(BaseModel):
    """A key's whole content: a put replaces every field (left out: its default)."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(
        description=f"Any JSON but null, up to {MAX_VALUE_BYTES} bytes (as compact JSON)."
    )
    encrypted: bool = Field(
        default=False,
        description=f"Store the value encrypted; it then reads as {MASK!r} unless decrypted.",
    )
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TTL_SECONDS,
        description="Seconds until the key expires and reads as absent; none: it stays.",
    )
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)


class KeyRead(BaseModel):
    scope: Scope
    owner: str = Field(
        description="The pack's ref (scope pack), the identity's login (scope user), or '' "
        "(scope system)."
    )
    name: str
    value: Any = Field(description=f"The value; {MASK!r} for an encrypted key not decrypted.")
    encrypted: bool
    description: str
    expires_at: datetime | None = Field(description="When the key expires; none: it stays.")
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, view: KeyView) -> KeyRead:
        return cls(
            scope=view.address.scope,
            owner=view.address.owner,
            name=view.address.name,
            value=view.value,
            encrypted=view.encrypted,
            description=view.description,
            expires_at=view.expires_at,
            created=view.created,
            updated=view.updated,
        )
