"""The audit trail: persistence (rows are only ever added, by `attune.auth.audit_trail`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditRecord
from db.repositories.base import DEFAULT_LIMIT


async def list_newest_first(
    session: AsyncSession,
    *,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
    action: str | None = None,
    actor: str | None = None,
) -> list[AuditRecord]:
    """Audit rows newest first, paged by `before_id`, filtered by action and actor."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    if action is not None:
        query = query.where(AuditRecord.action == action)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    return list((await session.scalars(query)).all())
