"""Packs: list, show, register one (by path within the allowed folders, or uploaded), and
remove one."""

from __future__ import annotations

import asyncio
import tempfile

from fastapi import APIRouter, Request
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import needs
from api.auth import CurrentIdentity
from api.catalog_access import PermissionsDep, pack_by_ref, visible_packs
from api.deps import ServicesDep, SessionDep
from api.event_sources import pass_on_to_temporal
from api.responses import errors_of
from api.schemas.catalog import PackRead, PackRegister
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from api.services import Services
from attune.auth.permissions import Permissions, Resource, Verb, missing
from attune.engine.admission import grant_all_waiting
from attune.packs.archive import MAX_ARCHIVE_BYTES
from attune.packs.definitions import PackDefinition
from attune.packs.loader import load_pack
from attune.packs.registrar import RegistrationSummary, register_pack
from attune.packs.removal import PackRemoval, remove_pack
from attune.packs.sources import allowed_pack_roots, confined_pack_folder
from attune.packs.uploads import (
    discard_upload,
    forget_uploads,
    prune_uploads,
    store_uploaded_pack,
)
from db.models import Identity, Rule
from db.repositories import pack as packs

router = APIRouter(prefix="/packs", tags=["packs"])

UPLOAD_PATH = "/upload"
ARCHIVE_TYPE = "application/gzip"
# An upload up to this size stays in memory; a larger one is spooled to a temporary file.
SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
UPLOAD_LIMIT_BYTES = MAX_ARCHIVE_BYTES


@router.get("", responses=errors_of(403), **needs(Resource.PACK, Verb.VIEW))
async def list_packs(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> CatalogPage[PackRead]:
    """The packs the caller may view, in ref order."""
    rows = await packs.repository.list(
        session, limit=limit, offset=offset, where=[visible_packs(permissions)]
    )
    return catalog_page(rows, PackRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.PACK, Verb.VIEW))
async def get_pack(session: SessionDep, permissions: PermissionsDep, ref: str) -> PackRead:
    pack = await pack_by_ref(session, packs.repository, ref, permissions=permissions)
    return PackRead.model_validate(pack)


@router.delete("/{ref}", responses=errors_of(403, 404, 409), **needs(Resource.PACK, Verb.DELETE))
async def delete_pack(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, ref: str
) -> PackRemoval:
    """Unregister the pack and all its components; executions, enforcements and events
    keep their refs. 409 naming the reason for the core pack, for executions of its actions
    not yet ended, and for other packs' rules or policies on its actions or triggers.
    Its timers stop and its sensors with it; an uploaded copy of its files is deleted."""
    await pack_by_ref(session, packs.repository, ref, permissions=permissions)
    if not permissions.allows(Resource.PACK, Verb.DELETE, pack=ref, ref=ref):
        raise missing(Resource.PACK, Verb.DELETE, ref=ref)
    removal = await remove_pack(session, ref)
    await session.commit()
    if removal.policies:
        # A policy of this pack may have limited another pack's action: its slots are free.
        await grant_all_waiting(session, services.starter.client)
    await pass_on_to_temporal(services, packs=[ref], sensors=True)
    await asyncio.to_thread(forget_uploads, services.settings.pack_folders[0], ref)
    return removal


@router.post("/register", responses=errors_of(403, 404, 413), **needs(Resource.PACK, Verb.CREATE))
async def register_pack_by_path(
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    caller: CurrentIdentity,
    body: PackRegister,
) -> RegistrationSummary:
    """Create or update every component of the pack, and remove those it no longer has.

    All or nothing: any problem refuses the whole pack with a 422 naming file and field.
    The folder must be inside the pack folders the operator allowed (403 otherwise).
    Needs create on the pack, and modify too when it is registered already.
    """
    folder = confined_pack_folder(body.path, allowed_pack_roots(services.settings))
    definition = await asyncio.to_thread(load_pack, folder)
    await _check_may_register(session, permissions, definition.ref)
    return await _register(session, services, definition, caller)


# The upload's body is described by hand, so its permission joins that description.
_CREATE_PACK = needs(Resource.PACK, Verb.CREATE)


@router.post(
    UPLOAD_PATH,
    responses=errors_of(403, 413),
    dependencies=_CREATE_PACK["dependencies"],
    openapi_extra={
        **_CREATE_PACK["openapi_extra"],
        "requestBody": {
            "required": True,
            "content": {
                ARCHIVE_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
    },
)
async def upload_pack(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    caller: CurrentIdentity,
) -> RegistrationSummary:
    """Register a pack sent as a gzip-compressed tar of its folder (what `attune pack
    register FOLDER` sends), unpacked under the first of the pack folders.

    At most `MAX_ARCHIVE_BYTES` compressed (413 beyond), `MAX_ARCHIVE_FILES` files and
    `MAX_EXTRACTED_BYTES` unpacked; absolute paths, `..`, links leading outside and special
    files are refused (422 naming the member), as is the pack itself like any other.
    With ATTUNE_ALLOW_UPLOADED_WORKFLOWS=false, a pack with python-workflow actions is
    refused (403): their code runs inside the worker process. Needs create on the pack,
    and modify too when it is registered already; a refused upload is not kept.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as archive:
        async for chunk in request.stream():
            archive.write(chunk)
        archive.seek(0)
        settings = services.settings
        stored = await asyncio.to_thread(
            store_uploaded_pack,
            archive,
            settings.pack_folders[0],
            allow_workflows=settings.allow_uploaded_workflows,
        )
    try:
        await _check_may_register(session, permissions, stored.definition.ref)
        summary = await _register(session, services, stored.definition, caller)
    except BaseException:
        await asyncio.to_thread(discard_upload, stored)
        raise
    await asyncio.to_thread(prune_uploads, stored)
    return summary


async def _check_may_register(session: AsyncSession, permissions: Permissions, ref: str) -> None:
    """403 unless the caller may create the pack `ref`, and modify it if it exists.

    The ref is known only once the pack is loaded; this runs before anything is written.
    """
    if not permissions.allows(Resource.PACK, Verb.CREATE, pack=ref, ref=ref):
        raise missing(Resource.PACK, Verb.CREATE, ref=ref)
    exists = await packs.repository.find_by_key(session, ref) is not None
    if exists and not permissions.allows(Resource.PACK, Verb.MODIFY, pack=ref, ref=ref):
        raise missing(Resource.PACK, Verb.MODIFY, ref=ref)


async def _register(
    session: AsyncSession, services: Services, definition: PackDefinition, registrant: Identity
) -> RegistrationSummary:
    summary = await register_pack(session, definition)
    # The pack's rules run as whoever registered it, with no more than their grants.
    await session.execute(
        update(Rule).where(Rule.pack_id == summary.pack_id).values(executor_id=registrant.id)
    )
    await session.commit()
    if summary.policies.updated or summary.policies.removed:
        # A raised or removed limit frees slots that executions already wait for.
        await grant_all_waiting(session, services.starter.client)
    await pass_on_to_temporal(services, packs=[summary.pack], sensors=True)
    return summary
