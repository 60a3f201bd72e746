"""Who may see and change an artifact, and whose an artifact made through the API is.

An artifact follows its pack's permissions (`pack_ref`: its execution's pack, kept after
the execution is deleted); its ref in a grant is its `ref`. A request made with an
execution token reaches only the artifacts of its own execution, which it may read,
create and update whatever its executor may do elsewhere (they are its output).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import check_item, request_permissions, visible_clause
from api.auth import request_execution_grant
from api.execution_access import check_execution, pack_of
from api.schemas.artifacts import ArtifactFields
from attune import errors
from attune.auth.permissions import Permissions, Resource, Verb, missing
from db.models import Artifact, OwnerType
from db.repositories import artifact as artifacts
from db.repositories import execution as executions


@dataclass(frozen=True)
class Ownership:
    """Whose a new artifact is: its execution, pack, scope and owner."""

    execution_id: int | None
    pack_ref: str | None
    scope: OwnerType
    owner: str


async def artifact_for(
    session: AsyncSession, request: Request, artifact_id: int, verb: Verb
) -> Artifact:
    """The artifact, checked for `verb`: 404 for one the caller may not view (or, with
    an execution token, of another execution), 403 when it may view but not `verb`."""
    artifact = await artifacts.repository.get(session, id=artifact_id)
    grant = request_execution_grant(request)
    if grant is not None and artifact.execution_id != grant.execution_id:
        raise errors.NotFound(f"artifact {artifact_id} not found")
    check_item(
        request_permissions(request),
        Resource.ARTIFACT,
        verb,
        pack=artifact.pack_ref,
        ref=artifact.ref,
        noun=f"artifact {artifact_id}",
    )
    return artifact


def visible_artifacts(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the artifacts the caller may view."""
    return visible_clause(
        permissions.visibility(Resource.ARTIFACT),
        pack=Artifact.__table__.c.pack_ref,
        ref=Artifact.__table__.c.ref,
    )


async def ownership_of(
    session: AsyncSession, request: Request, fields: ArtifactFields
) -> Ownership:
    """Whose the new artifact is, once the caller may create it there (403 naming the
    permission otherwise). An execution token's is always of its own execution."""
    grant = request_execution_grant(request)
    if grant is not None:
        if fields.execution_id not in (None, grant.execution_id):
            raise errors.PermissionDenied(
                f"an execution token makes artifacts of its own execution "
                f"({grant.execution_id}) only",
                details={"field": "execution_id"},
            )
        return Ownership(grant.execution_id, grant.pack_ref, OwnerType.ACTION, grant.action_ref)
    permissions = request_permissions(request)
    if fields.execution_id is not None:
        execution = await executions.repository.get(session, id=fields.execution_id)
        check_execution(permissions, execution, Verb.VIEW)
        ownership = Ownership(
            execution.id,
            pack_of(execution.action_ref),
            fields.scope or OwnerType.ACTION,
            execution.action_ref if fields.owner is None else fields.owner,
        )
    else:
        scope = fields.scope or OwnerType.SYSTEM
        owner = fields.owner or ""
        ownership = Ownership(None, _pack_of_owner(scope, owner), scope, owner)
    if not permissions.allows(
        Resource.ARTIFACT, Verb.CREATE, pack=ownership.pack_ref, ref=fields.ref
    ):
        raise missing(Resource.ARTIFACT, Verb.CREATE, ref=fields.ref)
    return ownership


def _pack_of_owner(scope: OwnerType, owner: str) -> str | None:
    """The pack an artifact of no execution belongs to, by its owner: a pack, or the
    pack part of an action's or sensor's ref; none for a system or identity artifact."""
    if scope is OwnerType.PACK and owner:
        return owner
    if scope in (OwnerType.ACTION, OwnerType.SENSOR) and "." in owner:
        return pack_of(owner)
    return None
