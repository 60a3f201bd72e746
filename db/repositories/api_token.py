"""API tokens: persistence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiToken
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(ApiToken, noun="API token", newest_first=True, natural_key="token_hash")


async def list_by_identity(
    session: AsyncSession,
    *,
    identity_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[ApiToken]:
    """The identity's tokens, newest first, paged by `before_id`."""
    return await repository.list(session, identity_id=identity_id, limit=limit, before_id=before_id)


async def find_active(session: AsyncSession, *, token_hash: str, now: datetime) -> ApiToken | None:
    """The token with this hash if it is neither revoked nor expired at `now`, else None."""
    not_expired = or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now)
    return await repository.find_first(
        session, token_hash=token_hash, revoked=False, where=[not_expired]
    )


async def touch_last_used(session: AsyncSession, *, id: int) -> ApiToken:
    """Set the token's `last_used_at` to the database's now; `NotFound` when there is none."""
    return await repository.stamp_now(session, id=id, column="last_used_at")
