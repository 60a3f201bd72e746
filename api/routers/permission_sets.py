"""Permission sets: named lists of grants, assigned to identities (`permission_sets` of an
identity). `admin`, `operator` and `observer` are built in; packs ship their own.

Each route needs its verb on `permission_set` (a set's ref is its name, a pack's set is of
that pack); one the caller may not view is a 404 as a missing one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy import ColumnElement, case, func

from api.access import check_item, needs, request_permissions, visible_clause
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
from attune.auth.permissions import Permissions, Resource, Verb, missing
from attune.excerpts import excerpt
from db.models import PermissionSet
from db.repositories import permission_set

router = APIRouter(prefix="/permission-sets", tags=["permission sets"])

SetName = Annotated[str, Path(max_length=200, description="The set's name (a pack's: pack.NAME).")]


def _pack_of(name: str) -> str | None:
    return name.partition(".")[0] if "." in name else None


def _check_set(request: Request, name: str, verb: Verb) -> None:
    check_item(
        request_permissions(request),
        Resource.PERMISSION_SET,
        verb,
        pack=_pack_of(name),
        ref=name,
        noun=f"permission set {excerpt(name)}",
    )


def _visible_sets(permissions: Permissions) -> ColumnElement[bool]:
    ref = PermissionSet.ref.expression
    pack = case((ref.contains("."), func.split_part(ref, ".", 1)), else_=None)
    return visible_clause(permissions.visibility(Resource.PERMISSION_SET), pack=pack, ref=ref)


@router.get("", responses=errors_of(403), **needs(Resource.PERMISSION_SET, Verb.VIEW))
async def list_permission_sets(
    session: SessionDep, request: Request, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> CatalogPage[PermissionSetRead]:
    """The permission sets the caller may view, by name."""
    visible = _visible_sets(request_permissions(request))
    rows = await permission_set.repository.list(
        session, limit=limit, offset=offset, where=[visible]
    )
    return catalog_page(rows, PermissionSetRead.of, limit=limit, offset=offset)


@router.get("/{name}", responses=errors_of(403, 404), **needs(Resource.PERMISSION_SET, Verb.VIEW))
async def get_permission_set(
    session: SessionDep, request: Request, name: SetName
) -> PermissionSetRead:
    _check_set(request, name, Verb.VIEW)
    return PermissionSetRead.of(await permission_set.repository.get_by_key(session, name))


@router.post(
    "",
    status_code=201,
    responses=errors_of(403, 409),
    **needs(Resource.PERMISSION_SET, Verb.CREATE),
)
async def create_permission_set(
    session: SessionDep, caller: CurrentIdentity, request: Request, body: PermissionSetCreate
) -> PermissionSetRead:
    """A set of your own: 422 naming the field of a bad name or grant, 409 for a taken name."""
    permissions = request_permissions(request)
    if not permissions.allows(
        Resource.PERMISSION_SET, Verb.CREATE, pack=_pack_of(body.name), ref=body.name
    ):
        raise missing(Resource.PERMISSION_SET, Verb.CREATE, ref=body.name)
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


@router.patch(
    "/{name}",
    responses=errors_of(403, 404, 409),
    **needs(Resource.PERMISSION_SET, Verb.MODIFY),
)
async def update_permission_set(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    name: SetName,
    body: PermissionSetUpdate,
) -> PermissionSetRead:
    """Change a set of your own; 409 for a built-in set or a pack's."""
    _check_set(request, name, Verb.MODIFY)
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


@router.delete(
    "/{name}",
    status_code=204,
    responses=errors_of(403, 404, 409),
    **needs(Resource.PERMISSION_SET, Verb.DELETE),
)
async def delete_permission_set(
    session: SessionDep, caller: CurrentIdentity, request: Request, name: SetName
) -> None:
    """Delete a set of your own (its assignments go with it); 409 for a built-in or a pack's."""
    _check_set(request, name, Verb.DELETE)
    await permission_sets.delete_set(session, name, actor=actor_of(request, caller))
    await session.commit()
