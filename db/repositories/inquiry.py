"""Inquiries: persistence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Inquiry, InquiryStatus
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository

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


async def list_for_api(
    session: AsyncSession,
    *,
    status: InquiryStatus | None = None,
    assignee: str | None = None,
    execution_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    before_id: int | None = None,
    visible: ColumnElement[bool] | None = None,
) -> list[Inquiry]:
    """Newest first; each filter given must hold. `assignee` keeps those naming that login,
    `visible` (a clause) those the caller may see."""
    where = [] if assignee is None else [Inquiry.assignees.contains([assignee])]
    if visible is not None:
        where.append(visible)
    given = {"status": status, "execution_id": execution_id}
    equals: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    return await repository.list(session, limit=limit, before_id=before_id, where=where, **equals)


async def record_response(
    session: AsyncSession, *, id: int, response: dict[str, Any], responder: str
) -> Inquiry | None:
    """Record the answer of a pending inquiry; None if it is no longer pending.

    One conditional statement: an inquiry is answered, timed out or cancelled once.
    """
    statement = (
        update(Inquiry)
        .where(Inquiry.id == id, Inquiry.status == InquiryStatus.PENDING)
        .values(
            status=InquiryStatus.RESPONDED,
            response=response,
            responder=responder,
            responded_at=func.clock_timestamp(),
        )
        .returning(Inquiry)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()


async def close(session: AsyncSession, *, id: int, status: InquiryStatus) -> Inquiry | None:
    """End a pending inquiry without an answer (`timeout`, `cancelled`); None if not pending."""
    assert status in (InquiryStatus.TIMEOUT, InquiryStatus.CANCELLED), f"{status} is no closing"
    statement = (
        update(Inquiry)
        .where(Inquiry.id == id, Inquiry.status == InquiryStatus.PENDING)
        .values(status=status)
        .returning(Inquiry)
    )
    return (await session.scalars(statement, execution_options=FRESH)).one_or_none()


async def cancel_pending_of_execution(session: AsyncSession, *, execution_id: int) -> list[int]:
    """Cancel every pending inquiry of the execution; the ids of those cancelled."""
    statement = (
        update(Inquiry)
        .where(Inquiry.execution_id == execution_id, Inquiry.status == InquiryStatus.PENDING)
        .values(status=InquiryStatus.CANCELLED)
        .returning(Inquiry.id)
    )
    return list((await session.scalars(statement)).all())


async def pending_by_execution(
    session: AsyncSession, *, execution_ids: Sequence[int]
) -> dict[int, Inquiry]:
    """The pending inquiry each of these executions waits on (the newest, if several)."""
    if not execution_ids:
        return {}
    query = (
        select(Inquiry)
        .where(Inquiry.execution_id.in_(execution_ids), Inquiry.status == InquiryStatus.PENDING)
        .order_by(Inquiry.id)
    )
    found = (await session.scalars(query, execution_options=FRESH)).all()
    # Ordered by id, so a newer inquiry of the same execution replaces an older one.
    return {inquiry.execution_id: inquiry for inquiry in found}
