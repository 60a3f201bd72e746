"""Deleting expired keys. Reads already treat them as absent; this only frees the rows."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import key as keys

logger = logging.getLogger(__name__)


async def purge_expired_keys(sessions: async_sessionmaker[AsyncSession]) -> int | None:
    """Delete the keys past their expiry; how many went, or None when it failed.

    Never raises: it runs in a worker's loop beside its real work, and a database that is
    down now is tried again at the next pass (nothing is lost by waiting).
    """
    try:
        async with sessions() as session, session.begin():
            deleted = await keys.delete_expired(session)
    except Exception:
        logger.exception("deleting expired keys failed; trying again at the next pass")
        return None
    if deleted:
        logger.info("deleted %d expired key(s)", deleted)
    return deleted
