"""Permission sets as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from db.models import PermissionSet

MAX_GRANTS = 200


class PermissionSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    grants: list[dict[str, Any]] = Field(
        max_length=MAX_GRANTS,
        description="[{resource, verbs: [...], packs?: [...], refs?: [...]}]; no packs or "
        "refs: every item.",
    )


class PermissionSetUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    grants: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_GRANTS)


class PermissionSetRead(BaseModel):
    name: str
    description: str | None
    grants: list[dict[str, Any]]
    builtin: bool
    # The pack that ships it, for a set registered with a pack.
    pack: str | None
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, row: PermissionSet) -> PermissionSetRead:
        return cls(
            name=row.ref,
            description=row.description,
            grants=list(row.grants),
            builtin=row.builtin,
            pack=row.ref.partition(".")[0] if "." in row.ref else None,
            created=row.created,
            updated=row.updated,
        )
