"""Workers: every `attune worker` process that recorded itself, newest first, with its state."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.deps import SessionDep
from api.responses import errors_of
from api.schemas.pages import DEFAULT_PAGE, BeforeId, HistoryPage, Limit, next_before_id
from api.schemas.workers import WorkerRead
from attune.auth.permissions import Resource, Verb
from db.repositories import worker as workers
from db.repositories.worker import WorkerState

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", responses=errors_of(403), **needs(Resource.WORKER, Verb.VIEW))
async def list_workers(
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE,
    before_id: BeforeId = None,
    state: WorkerState | None = None,
) -> HistoryPage[WorkerRead]:
    """Worker processes newest first, optionally only those `alive`, `lost` or `inactive`."""
    rows = await workers.list_newest_first(session, limit=limit, before_id=before_id, state=state)
    return HistoryPage[WorkerRead](
        items=[WorkerRead.of(worker, worker_state) for worker, worker_state in rows],
        next_before_id=next_before_id([worker for worker, _ in rows], limit=limit),
    )
