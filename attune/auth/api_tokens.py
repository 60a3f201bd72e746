"""An identity's tokens as the API manages them: made for automation, listed, revoked.

The plain token is returned once, by `create_token`; lists show everything else about a
token but never the token or its hash. Revoking announces itself to every API process
(`attune.auth.revocation`), so the token stops working at once everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.auth import audit_trail, revocation
from attune.auth.identities import Actor
from attune.auth.tokens import hash_token, issue_token_row
from db.models import ApiToken
from db.repositories import api_token
from db.repositories import identity as identities

SESSION = "session"
API = "api"


async def create_token(
    session: AsyncSession,
    *,
    login: str,
    label: str,
    expires_at: datetime | None,
    actor: Actor,
) -> tuple[ApiToken, str]:
    """A new API token of the identity, and the token itself (shown this once only)."""
    owner = await identities.repository.get_by_key(session, login)
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise errors.ValidationError(
            "expires_at: must be in the future", details={"field": "expires_at"}
        )
    row, token = await issue_token_row(
        session, identity_id=owner.id, label=label, expires_at=expires_at, kind=API
    )
    await audit_trail.record(
        session,
        action=audit_trail.TOKEN_CREATE,
        actor=actor.login,
        target=login,
        details={"token_id": row.id, "label": label, "kind": API},
        source=actor.source,
    )
    return row, token


def expiry(expires_at: datetime | None, ttl_seconds: int | None) -> datetime | None:
    """When a token asked for with either an instant or a lifetime expires (None: never)."""
    if expires_at is not None and ttl_seconds is not None:
        raise errors.ValidationError(
            "ttl_seconds: give expires_at or ttl_seconds, not both",
            details={"field": "ttl_seconds"},
        )
    if ttl_seconds is not None:
        return datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    return expires_at


async def list_tokens(
    session: AsyncSession, *, login: str, limit: int, before_id: int | None
) -> list[ApiToken]:
    """The identity's tokens (both kinds), newest first."""
    owner = await identities.repository.get_by_key(session, login)
    return await api_token.list_by_identity(
        session, identity_id=owner.id, limit=limit, before_id=before_id
    )


async def revoke_token(session: AsyncSession, *, login: str, token_id: int, actor: Actor) -> None:
    """Revoke the identity's token `token_id`; 404 when it has none of that id."""
    owner = await identities.repository.get_by_key(session, login)
    found = await api_token.repository.find(session, id=token_id)
    if found is None or found.identity_id != owner.id:
        raise errors.NotFound(
            f"identity {login!r} has no token {token_id}", details={"id": token_id}
        )
    await _revoke(session, found)
    await audit_trail.record(
        session,
        action=audit_trail.TOKEN_REVOKE,
        actor=actor.login,
        target=login,
        details={"token_id": found.id, "label": found.label, "kind": found.kind},
        source=actor.source,
    )


async def log_out(session: AsyncSession, *, token: str, actor: Actor) -> None:
    """Revoke the session token the caller authenticated with; 409 for an API token, which
    is revoked by id (`revoke_token`) so that a script's logout cannot kill its own token."""
    found = await api_token.repository.find_by_key(session, hash_token(token))
    if found is None or found.kind != SESSION:
        raise errors.Conflict(
            "this is not a session token (of POST /auth/login); revoke an API token with "
            "DELETE /identities/{login}/tokens/{id}"
        )
    await _revoke(session, found)
    await audit_trail.record(
        session,
        action=audit_trail.LOGOUT,
        actor=actor.login,
        target=actor.login,
        details={"token_id": found.id},
        source=actor.source,
    )


async def _revoke(session: AsyncSession, token: ApiToken) -> None:
    await api_token.repository.update(session, id=token.id, changes={"revoked": True})
    await revocation.announce(session, audit_trail.TOKEN_REVOKE)
