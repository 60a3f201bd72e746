"""Actions: list and show, and the admission queue of each."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import PermissionsDep, content_by_ref, visible_content
from api.deps import SessionDep
from api.responses import errors_of
from api.schemas.admission import QueueStatsRead
from api.schemas.catalog import ActionRead
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.auth.permissions import Resource, Verb
from db.models import Action
from db.repositories import action as actions
from db.repositories import policy as policies
from db.repositories import queue_stats

router = APIRouter(prefix="/actions", tags=["actions"])


@router.get("", responses=errors_of(403), **needs(Resource.ACTION, Verb.VIEW))
async def list_actions(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
) -> CatalogPage[ActionRead]:
    """The actions the caller may view, in ref order, optionally those of one pack."""
    visible = visible_content(permissions, Resource.ACTION, Action)
    rows = await actions.repository.list(
        session, limit=limit, offset=offset, where=[visible], **present(pack_ref=pack)
    )
    return catalog_page(rows, ActionRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.ACTION, Verb.VIEW))
async def get_action(session: SessionDep, permissions: PermissionsDep, ref: str) -> ActionRead:
    action = await content_by_ref(
        session, actions.repository, ref, permissions=permissions, resource=Resource.ACTION
    )
    return ActionRead.model_validate(action)


@router.get(
    "/{ref}/queue-stats", responses=errors_of(403, 404), **needs(Resource.ACTION, Verb.VIEW)
)
async def get_queue_stats(
    session: SessionDep, permissions: PermissionsDep, ref: str
) -> QueueStatsRead:
    """The action's admission queue: waiting, holding, totals. Zeros if nothing queued yet."""
    action = await content_by_ref(
        session, actions.repository, ref, permissions=permissions, resource=Resource.ACTION
    )
    stats = await queue_stats.find_by_action(session, action_id=action.id)
    policy = await policies.effective_for_action(session, action_ref=ref)
    return QueueStatsRead(
        action=ref,
        limit=policy.concurrency_limit if policy is not None else None,
        queue_length=stats.queue_length if stats else 0,
        active_count=stats.active_count if stats else 0,
        oldest_enqueued_at=stats.oldest_enqueued_at if stats else None,
        total_enqueued=stats.total_enqueued if stats else 0,
        total_completed=stats.total_completed if stats else 0,
    )
