"""Identities, their tokens, logins and the audit trail, as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from attune.auth.identities import IdentityView
from attune.auth.passwords import MAX_LENGTH as MAX_PASSWORD
from db.models import ApiToken, AuditRecord, PermissionSet

MAX_SETS = 100
Login = Annotated[str, Field(min_length=1, max_length=128, description="The login: a-z0-9_.@-")]
Password = Annotated[str, Field(max_length=MAX_PASSWORD, description="At least 12 characters.")]
SetNames = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    Field(max_length=MAX_SETS, description="Names of permission sets (admin, operator, ...)."),
]
DisplayName = Annotated[str, Field(max_length=200)]


class IdentityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Login
    display_name: DisplayName | None = None
    password: Password | None = None
    enabled: bool = True
    permission_sets: SetNames = []


class IdentityUpdate(BaseModel):
    """Only the fields given change; `password: null` removes the password."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    password: Password | None = None
    enabled: bool | None = None
    permission_sets: SetNames | None = None


class IdentityRead(BaseModel):
    """An identity; its password hash is never shown."""

    id: int
    login: str
    display_name: str | None
    enabled: bool
    has_password: bool
    permission_sets: list[str]
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, view: IdentityView) -> IdentityRead:
        identity = view.identity
        return cls(
            id=identity.id,
            login=identity.login,
            display_name=identity.display_name,
            enabled=not identity.frozen,
            has_password=identity.password_hash is not None,
            permission_sets=[held.ref for held in view.sets],
            created=identity.created,
            updated=identity.updated,
        )


class PermissionSetRead(BaseModel):
    name: str
    description: str | None
    builtin: bool
    grants: list[dict[str, Any]]

    @classmethod
    def of(cls, row: PermissionSet) -> PermissionSetRead:
        return cls(
            name=row.ref, description=row.description, builtin=row.builtin, grants=row.grants
        )


class WhoAmI(BaseModel):
    """The caller: its identity and what its permission sets grant."""

    login: str
    display_name: str | None
    enabled: bool
    permission_sets: list[PermissionSetRead]


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No NUL: the login is stored (failures, audit), and PostgreSQL text cannot hold one.
    login: Annotated[str, Field(max_length=128, pattern=r"^[^\x00]*$")]
    password: Annotated[str, Field(max_length=MAX_PASSWORD)]


class SessionToken(BaseModel):
    """A session token: send it as `Authorization: Bearer <token>` until `expires_at`."""

    token: str
    expires_at: datetime


class TokenCreate(BaseModel):
    """A token for automation; it never expires unless given `expires_at` or `ttl_seconds`."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, Field(min_length=1, max_length=200)] = "api"
    expires_at: AwareDatetime | None = None
    ttl_seconds: Annotated[int, Field(ge=60, le=10 * 366 * 86400)] | None = None


class TokenCreated(BaseModel):
    """The new token, shown this once: it cannot be read back."""

    id: int
    token: str
    label: str | None
    expires_at: datetime | None
    created: datetime


class TokenRead(BaseModel):
    """A token as lists show it: never the token, never its hash."""

    id: int
    label: str | None
    kind: str
    created: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, row: ApiToken) -> TokenRead:
        return cls(
            id=row.id,
            label=row.label,
            kind=row.kind,
            created=row.created,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked=row.revoked,
        )


class AuditRead(BaseModel):
    id: int
    created: datetime
    actor: str | None
    action: str
    target: str | None
    details: dict[str, Any]
    source: str | None

    @classmethod
    def of(cls, row: AuditRecord) -> AuditRead:
        return cls(
            id=row.id,
            created=row.created,
            actor=row.actor,
            action=row.action,
            target=row.target,
            details=row.details,
            source=row.source,
        )
