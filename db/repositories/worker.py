"""Workers: persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Worker, WorkerStatus, WorkerType
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Worker, noun="worker", order_by=("name",))


async def list_by_status(
    session: AsyncSession, *, status: WorkerStatus, limit: int = DEFAULT_LIMIT
) -> list[Worker]:
    """The workers last reported in this status, by name."""
    return await repository.list(session, status=status, limit=limit)


async def list_by_type(
    session: AsyncSession, *, worker_type: WorkerType, limit: int = DEFAULT_LIMIT
) -> list[Worker]:
    """The workers of one type (local, remote, container), by name."""
    return await repository.list(session, worker_type=worker_type, limit=limit)


async def heartbeat(session: AsyncSession, *, id: int) -> Worker:
    """Record a heartbeat at the database's clock now; `NotFound` for a missing worker."""
    return await repository.stamp_now(session, id=id, column="last_heartbeat")
