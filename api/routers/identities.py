"""Identities: the people and service accounts that hold tokens and permission sets.

Permissions are not enforced on these routes yet (any authenticated caller may use
them); that comes with the enforcement of permission sets on every route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.auth import CurrentIdentity
from api.deps import SessionDep
from api.responses import errors_of
from api.schemas.identities import IdentityCreate, IdentityRead, IdentityUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from attune.auth import identities
from attune.auth.identities import Actor
from db.models import Identity
from db.repositories import identity as identity_rows

router = APIRouter(prefix="/identities", tags=["identities"])

LoginPath = Annotated[str, Path(max_length=128, description="The identity's login.")]


def actor_of(request: Request, caller: Identity) -> Actor:
    """Who is calling and from which address, for the audit trail."""
    return Actor(login=caller.login, source=request.client.host if request.client else None)


@router.post(
    "",
    status_code=201,
    responses=errors_of(409),
)
async def create_identity(
    session: SessionDep, caller: CurrentIdentity, request: Request, body: IdentityCreate
) -> IdentityRead:
    """Create an identity: 422 naming the field for a bad login, a short password or an
    unknown permission set (`permission_sets[i]`); 409 when the login is taken."""
    view = await identities.create_identity(
        session,
        login=body.login,
        display_name=body.display_name,
        password=body.password,
        enabled=body.enabled,
        sets=body.permission_sets,
        actor=actor_of(request, caller),
    )
    await session.commit()
    return IdentityRead.of(view)


@router.get("")
async def list_identities(
    session: SessionDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> CatalogPage[IdentityRead]:
    """Identities by login."""
    rows = await identity_rows.repository.list(session, limit=limit, offset=offset)
    views = [await identities.view(session, row) for row in rows]
    return catalog_page(views, IdentityRead.of, limit=limit, offset=offset)


@router.get("/{login}", responses=errors_of(404))
async def get_identity(session: SessionDep, login: LoginPath) -> IdentityRead:
    """One identity with its permission sets."""
    found = await identity_rows.repository.get_by_key(session, login)
    return IdentityRead.of(await identities.view(session, found))


@router.patch("/{login}", responses=errors_of(404, 409))
async def update_identity(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    login: LoginPath,
    body: IdentityUpdate,
) -> IdentityRead:
    """Change display_name, password, enabled or permission_sets (the whole list). A
    disabled identity's tokens stop working at once; 409 for the last enabled admin."""
    view = await identities.update_identity(
        session,
        login=login,
        changes=body.model_dump(exclude_unset=True),
        actor=actor_of(request, caller),
    )
    await session.commit()
    return IdentityRead.of(view)


@router.delete("/{login}", status_code=204, responses=errors_of(404, 409))
async def delete_identity(
    session: SessionDep, caller: CurrentIdentity, request: Request, login: LoginPath
) -> Response:
    """Delete an identity and its tokens; 409 for the last enabled admin."""
    await identities.delete_identity(session, login=login, actor=actor_of(request, caller))
    await session.commit()
    return Response(status_code=204)
