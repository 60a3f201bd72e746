"""Workers: persistence."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from db.models import Worker, WorkerStatus, WorkerType
from db.repositories.base import DEFAULT_LIMIT, FRESH, Repository

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
    # clock_timestamp(), not now(): beats within one transaction still move forward.
    statement = (
        update(Worker)
        .where(Worker.id == id)
        .values(last_heartbeat=func.clock_timestamp())
        .returning(Worker)
    )
    worker = (await session.scalars(statement, execution_options=FRESH)).one_or_none()
    if worker is None:
        raise errors.NotFound(f"worker {id} not found", details={"id": id})
    return worker
