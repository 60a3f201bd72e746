"""Factories and probes for the definition suites (runtime, worker, action, trigger, ...).

Completes `tests.db.factories` with the records it has no factory for (workers, policies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Action, Pack, Policy, Worker, WorkerType
from db.models.base import Record
from db.repositories import policy, worker
from tests.db.factories import make_action, make_pack, unique


async def make_worker(session: AsyncSession, **values: Any) -> Worker:
    fields: dict[str, Any] = {"name": unique("worker"), "worker_type": WorkerType.LOCAL}
    return await worker.repository.create(session, **(fields | values))


async def make_policy(
    session: AsyncSession,
    owner: Pack | None = None,
    name: str | None = None,
    on: Action | None = None,
    **values: Any,
) -> Policy:
    owner = owner or await make_pack(session)
    on = on or await make_action(session, owner)
    name = name or unique("p")
    fields: dict[str, Any] = {
        "ref": f"{owner.ref}.{name}",
        "pack_id": owner.id,
        "pack_ref": owner.ref,
        "name": name,
        "action_id": on.id,
        "action_ref": on.ref,
    }
    return await policy.repository.create(session, **(fields | values))


@asynccontextmanager
async def tables_emptied(session: AsyncSession, *models: type[Record]) -> AsyncIterator[None]:
    """Inside, the tables of `models` hold no row this transaction sees; undone on exit.

    For the empty case of filters (a type, a status, enabled) that rows of others could match.
    Only a savepoint of the test's own transaction, itself never committed, sees the deletes.
    """
    savepoint = await session.begin_nested()
    try:
        for model in models:
            await session.execute(delete(model), execution_options={"synchronize_session": False})
        yield
    finally:
        await savepoint.rollback()
