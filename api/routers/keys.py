"""Keys: the key-value store. Put, get, list and delete values in the system's scope, a
pack's (`?pack=<ref>`) or a user's (`?user=<login>`, yours when left out).

An encrypted key's value is masked in every answer but a get with `?decrypt=true`, and
each of those is written to the `attune.audit` log with the caller's login, and to the
audit table (`GET /audit`, actions `key.decrypt` and `key.decrypt_failure`).

Permissions (`api.key_access`): a key the caller may not view is a 404 as a missing one;
`decrypt=true` needs decrypt besides view; one's own user keys need no grant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import needs_unless_own, request_permissions
from api.auth import CurrentIdentity
from api.deps import ServicesDep, SessionDep
from api.key_access import check_key, visible_keys
from api.responses import errors_of
from api.schemas.keys import KeyRead, KeyWrite
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from attune import errors
from attune.auth import audit_trail
from attune.auth.audit_trail import KEY_DECRYPT, KEY_DECRYPT_FAILURE
from attune.auth.permissions import Resource, Verb
from attune.keys import store
from attune.keys.addresses import MAX_NAME_CHARS, KeyAddress, Scope
from attune.keys.owners import MAX_OWNER_CHARS, key_address, owner_filter
from db.repositories import key as key_rows

router = APIRouter(prefix="/keys", tags=["keys"])

PackOwner = Annotated[
    str | None,
    Query(max_length=MAX_OWNER_CHARS, description="The owning pack's ref (scope pack)."),
]
UserOwner = Annotated[
    str | None,
    Query(
        max_length=MAX_OWNER_CHARS,
        description="The owning identity's login (scope user); yours when left out.",
    ),
]
KeyName = Annotated[
    str,
    Path(
        max_length=MAX_NAME_CHARS,
        description="Letters, digits, '_', '.', ':' and '-', starting with a letter, digit or '_'.",
    ),
]
Prefix = Annotated[
    str | None,
    Query(max_length=MAX_NAME_CHARS, description="Only keys whose names start with this."),
]


@router.get("", **needs_unless_own(Resource.KEY, Verb.VIEW))
async def list_keys(
    session: SessionDep,
    identity: CurrentIdentity,
    request: Request,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    scope: Scope | None = None,
    pack: PackOwner = None,
    user: UserOwner = None,
    prefix: Prefix = None,
) -> CatalogPage[KeyRead]:
    """Live keys by scope, owner and name, of those the caller may view; encrypted values
    are always masked here."""
    owners = owner_filter(scope, pack=pack, user=user, caller=identity.login)
    visible = visible_keys(request_permissions(request), identity.login)
    views = await store.list_keys(
        session, owners, prefix=prefix, limit=limit, offset=offset, visible=visible
    )
    return catalog_page(views, KeyRead.of, limit=limit, offset=offset)


@router.put(
    "/{scope}/{name}",
    responses={
        201: {"model": KeyRead, "description": "The key was created."},
        **errors_of(403, 404),
    },
    **needs_unless_own(Resource.KEY, Verb.MODIFY),
)
async def put_key(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    response: Response,
    scope: Scope,
    name: KeyName,
    body: KeyWrite,
    pack: PackOwner = None,
    user: UserOwner = None,
) -> KeyRead:
    """Create (201) or replace (200) a key. 422 naming the field for a bad name, owner,
    value or TTL (and for a pack or login Attune does not know); 503 for an encrypted key
    when the API has no ATTUNE_ENCRYPTION_KEY. Needs create on a new key, modify on one
    that exists (404 for one the caller may not view)."""
    address = key_address(scope, name, pack=pack, user=user, caller=identity.login)
    existing = await key_rows.find_by_name(
        session, name=address.name, owner_type=address.owner_type, owner=address.owner
    )
    verb = Verb.CREATE if existing is None else Verb.MODIFY
    check_key(request_permissions(request), identity.login, address, verb)
    view, created = await store.put_key(
        session,
        address,
        value=body.value,
        encrypted=body.encrypted,
        ttl_seconds=body.ttl_seconds,
        description=body.description,
        encryption_key=services.settings.encryption_key_bytes,
    )
    await session.commit()
    response.status_code = 201 if created else 200
    return KeyRead.of(view)


@router.get(
    "/{scope}/{name}",
    responses=errors_of(403, 404, 409),
    **needs_unless_own(Resource.KEY, Verb.VIEW),
)
async def get_key(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    scope: Scope,
    name: KeyName,
    pack: PackOwner = None,
    user: UserOwner = None,
    decrypt: Annotated[
        bool, Query(description="Show an encrypted value in the clear (audited).")
    ] = False,
) -> KeyRead:
    """One live key: 404 when missing or expired. With `decrypt=true` an encrypted value is
    shown in the clear, and the read is audited (it needs decrypt: 403 naming it); 409 when
    no configured key opens it."""
    address = key_address(scope, name, pack=pack, user=user, caller=identity.login)
    check_key(
        request_permissions(request),
        identity.login,
        address,
        Verb.DECRYPT if decrypt else Verb.VIEW,
    )
    ring = services.settings.encryption_key_ring if decrypt else None
    source = request.client.host if request.client else None
    try:
        view = await store.get_key(session, address, decrypt_with=ring, reader=identity.login)
    except errors.Conflict:
        # No configured key opens it: the attempt is audited all the same.
        await _audit_decrypt(session, KEY_DECRYPT_FAILURE, identity.login, address, source)
        raise
    if decrypt and view.encrypted:
        await _audit_decrypt(session, KEY_DECRYPT, identity.login, address, source)
    return KeyRead.of(view)


async def _audit_decrypt(
    session: AsyncSession, action: str, reader: str, address: KeyAddress, source: str | None
) -> None:
    """An audit row for a decrypt (beside the `attune.audit` log line), committed now."""
    await audit_trail.record(
        session, action=action, actor=reader, target=str(address), source=source
    )
    await session.commit()


@router.delete(
    "/{scope}/{name}",
    status_code=204,
    responses=errors_of(403, 404),
    **needs_unless_own(Resource.KEY, Verb.DELETE),
)
async def delete_key(
    session: SessionDep,
    identity: CurrentIdentity,
    request: Request,
    scope: Scope,
    name: KeyName,
    pack: PackOwner = None,
    user: UserOwner = None,
) -> None:
    """Delete a live key: 404 when missing or expired (or not the caller's to view)."""
    address = key_address(scope, name, pack=pack, user=user, caller=identity.login)
    check_key(request_permissions(request), identity.login, address, Verb.DELETE)
    await store.delete_key(session, address)
    await session.commit()
