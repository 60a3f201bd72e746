"""Actions: list and show."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas.catalog import ActionRead
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from db.repositories import action as actions

router = APIRouter(prefix="/actions", tags=["actions"])


@router.get("")
async def list_actions(
    session: SessionDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0, pack: str | None = None
) -> CatalogPage[ActionRead]:
    rows = await actions.repository.list(
        session, limit=limit, offset=offset, **present(pack_ref=pack)
    )
    return catalog_page(rows, ActionRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}")
async def get_action(session: SessionDep, ref: str) -> ActionRead:
    return ActionRead.model_validate(await actions.repository.get_by_key(session, ref))
