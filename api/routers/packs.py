"""Packs: list, show, and register a pack folder."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from api.schemas.catalog import PackRead, PackRegister
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page
from attune import errors
from attune.engine.admission import grant_all_waiting
from attune.packs.registrar import RegistrationSummary, register_pack_folder
from db.repositories import pack as packs

router = APIRouter(prefix="/packs", tags=["packs"])


@router.get("")
async def list_packs(
    session: SessionDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0
) -> CatalogPage[PackRead]:
    rows = await packs.repository.list(session, limit=limit, offset=offset)
    return catalog_page(rows, PackRead.model_validate, limit=limit, offset=offset)


@router.get("/{ref}")
async def get_pack(session: SessionDep, ref: str) -> PackRead:
    return PackRead.model_validate(await packs.repository.get_by_key(session, ref))


@router.post("/register")
async def register_pack(
    session: SessionDep, services: ServicesDep, body: PackRegister
) -> RegistrationSummary:
    """Create or update every component of the pack, and remove those it no longer has.

    All or nothing: any problem refuses the whole pack with a 422 naming file and field.
    """
    path = Path(body.path)
    if not path.is_absolute():
        raise errors.ValidationError(
            f"path must be absolute, not {body.path!r}", details={"field": "path"}
        )
    summary = await register_pack_folder(session, path)
    await session.commit()
    if summary.policies.updated or summary.policies.removed:
        # A raised or removed limit frees slots that executions already wait for.
        await grant_all_waiting(session, services.starter.client)
    return summary
