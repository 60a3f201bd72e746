"""Identities: the people and service accounts that hold tokens and permission sets.

Each route needs its verb on `identity` (an identity's ref in a grant is its login); a
caller may always read its own identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.access import check_item, needs, needs_unless_own, request_permissions, visible_clause
from api.auth import CurrentIdentity
from api.deps import SessionDep
from api.responses import errors_of
from api.schemas.identities import IdentityCreate, IdentityRead, IdentityUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from attune.auth import identities
from attune.auth.identities import Actor
from attune.auth.permissions import Resource, Verb, missing
from attune.excerpts import excerpt
from db.models import Identity
from db.repositories import identity as identity_rows

router = APIRouter(prefix="/identities", tags=["identities"])

LoginPath = Annotated[str, Path(max_length=128, description="The identity's login.")]


def check_identity(request: Request, login: str, verb: Verb) -> None:
    """404 for an identity the caller may not view, 403 when it may not do `verb` on it."""
    check_item(
        request_permissions(request),
        Resource.IDENTITY,
        verb,
        pack=None,
        ref=login,
        noun=f"identity {excerpt(login)}",
    )


def check_may_assign(request: Request, names: Iterable[str]) -> None:
    """403 unless the caller may modify each of these permission sets: handing out a set
    is granting what it holds, so `identity: modify` alone must not make its holder admin."""
    permissions = request_permissions(request)
    for name in names:
        pack = name.partition(".")[0] if "." in name else None
        if not permissions.allows(Resource.PERMISSION_SET, Verb.MODIFY, pack=pack, ref=name):
            raise missing(Resource.PERMISSION_SET, Verb.MODIFY, ref=name)


def actor_of(request: Request, caller: Identity) -> Actor:
    """Who is calling and from which address, for the audit trail."""
    return Actor(login=caller.login, source=request.client.host if request.client else None)


@router.post(
    "",
    status_code=201,
    responses=errors_of(403, 409),
    **needs(Resource.IDENTITY, Verb.CREATE),
)
async def create_identity(
    session: SessionDep, caller: CurrentIdentity, request: Request, body: IdentityCreate
) -> IdentityRead:
    """Create an identity: 422 naming the field for a bad login, a short password or an
    unknown permission set (`permission_sets[i]`); 409 when the login is taken."""
    if not request_permissions(request).allows(Resource.IDENTITY, Verb.CREATE, ref=body.login):
        raise missing(Resource.IDENTITY, Verb.CREATE, ref=body.login)
    check_may_assign(request, body.permission_sets)
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


@router.get("", responses=errors_of(403), **needs(Resource.IDENTITY, Verb.VIEW))
async def list_identities(
    session: SessionDep, request: Request, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> CatalogPage[IdentityRead]:
    """Identities by login, of those the caller may view."""
    visible = visible_clause(
        request_permissions(request).visibility(Resource.IDENTITY),
        pack=None,
        ref=Identity.login.expression,
    )
    rows = await identity_rows.repository.list(session, limit=limit, offset=offset, where=[visible])
    views = [await identities.view(session, row) for row in rows]
    return catalog_page(views, IdentityRead.of, limit=limit, offset=offset)


@router.get("/{login}", responses=errors_of(404), **needs_unless_own(Resource.IDENTITY, Verb.VIEW))
async def get_identity(
    session: SessionDep, caller: CurrentIdentity, request: Request, login: LoginPath
) -> IdentityRead:
    """One identity with its permission sets; one's own needs no grant."""
    if login != caller.login:
        check_identity(request, login, Verb.VIEW)
    found = await identity_rows.repository.get_by_key(session, login)
    return IdentityRead.of(await identities.view(session, found))


@router.patch(
    "/{login}", responses=errors_of(403, 404, 409), **needs(Resource.IDENTITY, Verb.MODIFY)
)
async def update_identity(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    login: LoginPath,
    body: IdentityUpdate,
) -> IdentityRead:
    """Change display_name, password, enabled or permission_sets (the whole list). A
    disabled identity's tokens stop working at once; 409 for the last enabled admin."""
    check_identity(request, login, Verb.MODIFY)
    if body.permission_sets is not None:
        # Taking a set away changes access as much as handing one out.
        found = await identity_rows.repository.get_by_key(session, login)
        held = [held_set.ref for held_set in (await identities.view(session, found)).sets]
        check_may_assign(request, sorted(set(held) ^ set(body.permission_sets)))
    view = await identities.update_identity(
        session,
        login=login,
        changes=body.model_dump(exclude_unset=True),
        actor=actor_of(request, caller),
    )
    await session.commit()
    return IdentityRead.of(view)


@router.delete(
    "/{login}",
    status_code=204,
    responses=errors_of(403, 404, 409),
    **needs(Resource.IDENTITY, Verb.DELETE),
)
async def delete_identity(
    session: SessionDep, caller: CurrentIdentity, request: Request, login: LoginPath
) -> Response:
    """Delete an identity and its tokens; 409 for the last enabled admin."""
    check_identity(request, login, Verb.DELETE)
    await identities.delete_identity(session, login=login, actor=actor_of(request, caller))
    await session.commit()
    return Response(status_code=204)
