"""Appending to an execution's live output and reading it after a cursor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ExecutionOutput


async def append(session: AsyncSession, *, execution_id: int, stream: str, text: str) -> None:
    """One piece of output, after every piece before it. The caller commits."""
    await session.execute(
        insert(ExecutionOutput).values(execution_id=execution_id, stream=stream, text=text)
    )


def appender(
    sessions: async_sessionmaker[AsyncSession], execution_id: int
) -> Callable[[str, str], Awaitable[None]]:
    """`append` for one execution, each piece committed on its own (a runner's `on_output`)."""

    async def append_piece(stream: str, text: str) -> None:
        async with sessions() as session:
            await append(session, execution_id=execution_id, stream=stream, text=text)
            await session.commit()

    return append_piece


async def read_after(
    session: AsyncSession, *, execution_id: int, after: int, limit: int
) -> Sequence[ExecutionOutput]:
    """Up to `limit` pieces of the execution's output whose id is above `after`, in order."""
    pieces = (
        select(ExecutionOutput)
        .where(ExecutionOutput.execution_id == execution_id, ExecutionOutput.id > after)
        .order_by(ExecutionOutput.id)
        .limit(limit)
    )
    return (await session.scalars(pieces)).all()
