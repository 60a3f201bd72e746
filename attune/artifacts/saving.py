"""Writing an artifact's row: its content already kept (`store`), its limits checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.artifacts.kinds import DEFAULT_RETENTION
from attune.artifacts.store import ArtifactStore, Kept
from db.models import Artifact, ArtifactType, OwnerType, RetentionPolicy
from db.repositories import artifact as artifacts


@dataclass(frozen=True)
class ArtifactDraft:
    """An artifact about to be written, but for its content."""

    ref: str
    artifact_type: ArtifactType
    execution_id: int | None = None
    pack_ref: str | None = None
    scope: OwnerType = OwnerType.SYSTEM
    owner: str = ""
    name: str | None = None
    content_type: str | None = None
    data: Any = None
    retention_policy: RetentionPolicy = DEFAULT_RETENTION[0]
    retention_limit: int = DEFAULT_RETENTION[1]


async def save_artifact(
    session: AsyncSession, store: ArtifactStore, draft: ArtifactDraft, kept: Kept | None = None
) -> Artifact:
    """Insert the artifact, in the caller's transaction; `PayloadTooLarge` (and the stored
    file removed) when it would take its execution past `execution_max_bytes`.

    The check and the insert hold a lock of the execution's, so two artifacts saved at
    once cannot both slip under the limit. On any failure the stored file goes.
    """
    try:
        size = kept.size_bytes if kept is not None else _json_size(draft.data)
        if draft.execution_id is not None and size:
            await artifacts.lock_execution(session, draft.execution_id)
            used = await artifacts.execution_bytes(session, draft.execution_id)
            limit = store.limits.execution_max_bytes
            if used + size > limit:
                raise errors.PayloadTooLarge(
                    f"execution {draft.execution_id}'s artifacts would take "
                    f"{used + size:,} bytes, past its limit of {limit:,} "
                    f"({used:,} already kept)",
                    details={"field": "content"},
                )
        return await artifacts.repository.create(
            session,
            ref=draft.ref,
            artifact_type=draft.artifact_type,
            execution_id=draft.execution_id,
            pack_ref=draft.pack_ref,
            scope=draft.scope,
            owner=draft.owner,
            name=draft.name,
            content_type=draft.content_type,
            data=draft.data,
            retention_policy=draft.retention_policy,
            retention_limit=draft.retention_limit,
            size_bytes=size,
            sha256=kept.sha256 if kept is not None else None,
            content=kept.content if kept is not None else None,
            stored_file=kept.stored_file if kept is not None else None,
        )
    except BaseException:
        if kept is not None:
            store.remove([kept.stored_file])
        raise


def _json_size(data: Any) -> int:
    """What a JSON artifact's data weighs, so JSON artifacts count toward their execution's
    limit too."""
    return 0 if data is None else len(json.dumps(data, separators=(",", ":")).encode())
