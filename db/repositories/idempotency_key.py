"""Idempotency keys: the answers kept for retries, and their expiry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey
from db.repositories.base import FRESH

# Expired keys deleted with each new one: more than expire in the time one is written, so
# the table stays about as large as the window's keys without a sweep of its own.
PURGE_BATCH = 100


async def find_live(session: AsyncSession, *, scope: str, key: str) -> IdempotencyKey | None:
    """The caller's key, unless it has expired (an expired key is as good as gone)."""
    query = select(IdempotencyKey).where(
        IdempotencyKey.scope == scope,
        IdempotencyKey.key == key,
        IdempotencyKey.expires_at > func.now(),
    )
    return (await session.scalars(query, execution_options=FRESH)).one_or_none()


async def record_first(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: bytes,
    status_code: int,
    response: bytes,
    window: timedelta,
) -> bool:
    """Keep the answer under the key, for `window`; False when a live key is there already.

    One statement: of two transactions recording one key at once, the second waits for
    the first to end, then finds its row (False) or, if it rolled back, records its own.
    An expired row under the key is taken over. Also deletes a few expired keys.
    """
    values = {
        "scope": scope,
        "key": key,
        "request_hash": request_hash,
        "status_code": status_code,
        "response": response,
        "expires_at": func.now() + window,
    }
    inserted = insert(IdempotencyKey).values(**values)
    statement = inserted.on_conflict_do_update(
        index_elements=[IdempotencyKey.scope, IdempotencyKey.key],
        set_={name: inserted.excluded[name] for name in values},
        where=IdempotencyKey.expires_at <= func.now(),
    ).returning(IdempotencyKey.id)
    recorded = (await session.execute(statement)).scalar_one_or_none() is not None
    if recorded:
        await _delete_some_expired(session)
    return recorded


async def replace_answer(
    session: AsyncSession, *, scope: str, key: str, status_code: int, response: bytes
) -> None:
    """The answer as finally sent, when it differs from the one recorded with the rows."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(status_code=status_code, response=response)
    )


async def _delete_some_expired(session: AsyncSession) -> None:
    # SKIP LOCKED: requests deleting at once take different rows, and none waits for another.
    expired = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at <= func.now())
        .order_by(IdempotencyKey.expires_at)
        .limit(PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired.scalar_subquery()))
    )
