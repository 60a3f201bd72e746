"""Permission sets: named lists of grants, assigned to identities (`permission_sets` of an
identity). `admin`, `operator` and `observer` are built in; packs ship their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.auth import CurrentIdentity
from api.deps import SessionDep
from api.responses import errors_of
from api.routers.identities import actor_of
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from api.schemas.permission_sets import (
    PermissionSetCreate,
    PermissionSetRead,
    PermissionSetUpdate,
)
from attune.auth import permission_sets
from db.repositories import permission_set

router = APIRouter(prefix="/permission-sets", tags=["permission sets"])

SetName = Annotated[str, Path(max_length=200, description="The set's name (a pack's: pack.NAME).")]


@router.get("")
async def list_permission_sets(
    session: SessionDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> CatalogPage[PermissionSetRead]:
    """Every permission set, by name."""
    rows = await permission_set.repository.list(session, limit=limit, offset=offset)
    return catalog_page(rows, PermissionSetRead.of, limit=limit, offset=offset)


@router.get("/{name}", responses=errors_of(404))
async def get_permission_set(session: SessionDep, name: SetName) -> PermissionSetRead:
    return PermissionSetRead.of(await permission_set.repository.get_by_key(session, name))


@router.post("", status_code=201, responses=errors_of(409))
async def create_permission_set(
    session: SessionDep, caller: CurrentIdentity, request: Request, body: PermissionSetCreate
) -> PermissionSetRead:
    """A set of your own: 422 naming the field of a bad name or grant, 409 for a taken name."""
    row = await permission_sets.create_set(
        session,
        name=body.name,
        description=body.description,
        grants=body.grants,
        actor=actor_of(request, caller),
    )
    read = PermissionSetRead.of(row)
    await session.commit()
    return read


@router.patch("/{name}", responses=errors_of(404, 409))
async def update_permission_set(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    name: SetName,
    body: PermissionSetUpdate,
) -> PermissionSetRead:
    """Change a set of your own; 409 for a built-in set or a pack's."""
    row = await permission_sets.update_set(
        session,
        name,
        description=body.description,
        grants=body.grants,
        actor=actor_of(request, caller),
    )
    read = PermissionSetRead.of(row)
    await session.commit()
    return read


@router.delete("/{name}", status_code=204, responses=errors_of(404, 409))
async def delete_permission_set(
    session: SessionDep, caller: CurrentIdentity, request: Request, name: SetName
) -> None:
    """Delete a set of your own (its assignments go with it); 409 for a built-in or a pack's."""
    await permission_sets.delete_set(session, name, actor=actor_of(request, caller))
    await session.commit()
