"""Inquiries: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Inquiry, InquiryStatus
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Inquiry, noun="inquiry", newest_first=True)


async def list_by_status(
    session: AsyncSession,
    *,
    status: InquiryStatus,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Inquiry]:
    """The inquiries in this status, newest first, paged by `before_id`."""
    return await repository.list(session, status=status, limit=limit, before_id=before_id)


async def list_by_execution(
    session: AsyncSession,
    *,
    execution_id: int,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
) -> list[Inquiry]:
    """The inquiries of the execution with this id, newest first, paged by `before_id`."""
    return await repository.list(
        session, execution_id=execution_id, limit=limit, before_id=before_id
    )
