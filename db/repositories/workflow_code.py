"""Workflow code: persistence of each version of a pack's workflow files, by digest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WorkflowCode
from db.repositories.base import Repository

repository = Repository(WorkflowCode, noun="workflow code", natural_key="digest")


async def keep(session: AsyncSession, *, digest: str, pack_ref: str, files: dict[str, str]) -> None:
    """Store this version unless it is stored already (the same digest is the same files)."""
    await session.execute(
        insert(WorkflowCode)
        .values(digest=digest, pack_ref=pack_ref, files=files)
        .on_conflict_do_nothing(index_elements=["digest"])
    )


async def files_of(session: AsyncSession, *, digest: str) -> dict[str, str] | None:
    """The files of one version; None when no such digest was ever registered."""
    query = select(WorkflowCode.files).where(WorkflowCode.digest == digest)
    files: dict[str, str] | None = (await session.execute(query)).scalar_one_or_none()
    return files
