"""Artifacts: what executions produce, listed, shown, downloaded, made and updated."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlalchemy import select

from api.access import needs, request_permissions
from api.artifact_access import artifact_for, ownership_of, visible_artifacts
from api.artifact_uploads import is_upload, json_artifact, update_of, uploaded_file
from api.deps import ServicesDep, SessionDep
from api.execution_access import check_execution
from api.params import IdFilter, RecordId
from api.request_bodies import inline_schema, with_body
from api.responses import errors_of
from api.schemas.artifacts import (
    ArtifactCreate,
    ArtifactFileFields,
    ArtifactRead,
    ArtifactUpdate,
)
from api.schemas.pages import BeforeId, HistoryPage, Limit, next_before_id, present
from api.services import Services
from attune import errors
from attune.artifacts.data import checked_data, first_problem
from attune.artifacts.kinds import FILE_TYPES, content_type_of, type_of
from attune.artifacts.saving import ArtifactDraft, save_artifact
from attune.artifacts.store import too_large
from attune.auth.permissions import Resource, Verb
from db.models import Artifact, ArtifactType, OwnerType
from db.repositories import artifact as artifacts
from db.repositories import execution as executions

router = APIRouter(tags=["artifacts"])

# A download is never rendered in the API's origin: an HTML artifact stays a file.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


JSON_OR_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": inline_schema(ArtifactCreate)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "ref"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        **inline_schema(ArtifactFileFields)["properties"],
                    },
                }
            },
        },
    }
}


def _read(request: Request, artifact: Artifact) -> ArtifactRead:
    return ArtifactRead.of(
        artifact, request.app.url_path_for("get_artifact_content", id=str(artifact.id))
    )


@router.get("/artifacts", responses=errors_of(403), **needs(Resource.ARTIFACT, Verb.VIEW))
async def list_artifacts(
    session: SessionDep,
    request: Request,
    limit: Limit = 100,
    before_id: BeforeId = None,
    execution: IdFilter = None,
    ref: str | None = None,
    type: ArtifactType | None = None,
    scope: OwnerType | None = None,
    owner: str | None = None,
) -> HistoryPage[ArtifactRead]:
    """Newest first; every filter given must hold; only what the caller may view."""
    filters = present(execution_id=execution, ref=ref, artifact_type=type, scope=scope, owner=owner)
    rows = await artifacts.repository.list(
        session,
        limit=limit,
        before_id=before_id,
        where=[visible_artifacts(request_permissions(request))],
        **filters,
    )
    return HistoryPage[ArtifactRead](
        items=[_read(request, row) for row in rows],
        next_before_id=next_before_id(rows, limit=limit),
    )


@router.get(
    "/executions/{id}/artifacts",
    responses=errors_of(403, 404),
    **needs(Resource.ARTIFACT, Verb.VIEW),
)
async def list_execution_artifacts(
    session: SessionDep,
    request: Request,
    id: RecordId,
    limit: Limit = 100,
    before_id: BeforeId = None,
) -> HistoryPage[ArtifactRead]:
    """The artifacts an execution produced, newest first; 404 for an execution the caller
    may not view."""
    execution = await executions.repository.get(session, id=id)
    permissions = request_permissions(request)
    check_execution(permissions, execution, Verb.VIEW)
    rows = await artifacts.repository.list(
        session,
        limit=limit,
        before_id=before_id,
        where=[visible_artifacts(permissions)],
        execution_id=id,
    )
    return HistoryPage[ArtifactRead](
        items=[_read(request, row) for row in rows],
        next_before_id=next_before_id(rows, limit=limit),
    )


@router.get("/artifacts/{id}", responses=errors_of(403, 404), **needs(Resource.ARTIFACT, Verb.VIEW))
async def get_artifact(session: SessionDep, request: Request, id: RecordId) -> ArtifactRead:
    """One artifact's metadata (and a JSON artifact's data); 404 too for one the caller
    may not view."""
    return _read(request, await artifact_for(session, request, id, Verb.VIEW))


@router.get(
    "/artifacts/{id}/content",
    name="get_artifact_content",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The bytes."},
        206: {"description": "The range asked for (files in the store)."},
        **errors_of(403, 404),
    },
    **needs(Resource.ARTIFACT, Verb.VIEW),
)
async def get_artifact_content(
    session: SessionDep, services: ServicesDep, request: Request, id: RecordId
) -> Response:
    """A file artifact's bytes, with its content type, as an attachment. Files past the
    inline size are served from the store and take `Range` requests. 404 for an artifact
    of no file (url, progress, other: their data is in `GET /artifacts/{id}`)."""
    artifact = await artifact_for(session, request, id, Verb.VIEW)
    if artifact.artifact_type not in FILE_TYPES:
        raise errors.NotFound(
            f"artifact {id} is a {artifact.artifact_type.value} artifact: it has no file; "
            f"its data is in GET /artifacts/{id}"
        )
    media_type = artifact.content_type or content_type_of(artifact.name or "")
    filename = (artifact.name or f"artifact-{id}").rsplit("/", 1)[-1]
    if artifact.stored_file is not None:
        return FileResponse(
            services.artifacts.path_of(artifact.stored_file),
            media_type=media_type,
            filename=filename,
            headers=DOWNLOAD_HEADERS,
            content_disposition_type="attachment",
        )
    content = await session.scalar(select(Artifact.content).where(Artifact.id == id))
    headers = {**DOWNLOAD_HEADERS, "Content-Disposition": attachment(filename)}
    return Response(content or b"", media_type=media_type, headers=headers)


def attachment(filename: str) -> str:
    """The Content-Disposition of a download named `filename` (RFC 6266, as Starlette's
    FileResponse writes it)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


@router.post(
    "/artifacts",
    status_code=201,
    response_model=ArtifactRead,
    responses=errors_of(403, 404, 413),
    **with_body(needs(Resource.ARTIFACT, Verb.CREATE), JSON_OR_FORM),
)
async def create_artifact(
    session: SessionDep, services: ServicesDep, request: Request
) -> ArtifactRead:
    """Make an artifact: JSON (`type` url, progress or other, with `data`), or a
    multipart form with the `file` and the fields (`type` from the file's name unless
    given). An execution token makes artifacts of its own execution. 413 past the size
    limit of one artifact or of one execution's."""
    if is_upload(request):
        artifact = await _create_file(session, services, request)
    else:
        body = await json_artifact(request)
        ownership = await ownership_of(session, request, body)
        draft = _draft(body, ownership, ArtifactType(body.type), data=body.data)
        artifact = await save_artifact(session, services.artifacts, draft)
    await session.commit()
    return _read(request, artifact)


async def _create_file(session: Any, services: Services, request: Request) -> Artifact:
    store = services.artifacts
    async with uploaded_file(request) as (fields, upload):
        ownership = await ownership_of(session, request, fields)
        what = f"file {upload.filename!r}"
        if upload.size is not None and upload.size > store.limits.max_bytes:
            raise too_large(what, store.limits.max_bytes)
        kept = await asyncio.to_thread(store.keep, upload.file, what=what)
    name = fields.name or "file"
    artifact_type = ArtifactType(fields.type) if fields.type else type_of(name)
    draft = _draft(fields, ownership, artifact_type, name=name, content_type=content_type_of(name))
    return await save_artifact(session, store, draft, kept)


def _draft(fields: Any, ownership: Any, artifact_type: ArtifactType, **more: Any) -> ArtifactDraft:
    return ArtifactDraft(
        ref=fields.ref,
        artifact_type=artifact_type,
        execution_id=ownership.execution_id,
        pack_ref=ownership.pack_ref,
        scope=ownership.scope,
        owner=ownership.owner,
        retention_policy=fields.retention_policy,
        retention_limit=fields.retention_limit,
        **more,
    )


@router.patch(
    "/artifacts/{id}",
    response_model=ArtifactRead,
    responses=errors_of(403, 404, 409),
    **with_body(
        needs(Resource.ARTIFACT, Verb.MODIFY),
        {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_schema(ArtifactUpdate)}},
            }
        },
    ),
)
async def update_artifact(session: SessionDep, request: Request, id: RecordId) -> ArtifactRead:
    """Change a JSON artifact's data (a progress artifact's percent and message, say) or
    any artifact's retention; 409 for the data of a file artifact, whose bytes never
    change (make a new version instead)."""
    changes_in = await update_of(request)
    artifact = await artifact_for(session, request, id, Verb.MODIFY)
    changes: dict[str, Any] = {}
    if "data" in changes_in.model_fields_set:
        if artifact.artifact_type in FILE_TYPES:
            raise errors.Conflict(
                f"artifact {id} holds a file, which never changes: make a new version of "
                f"its ref instead"
            )
        try:
            changes["data"] = checked_data(artifact.artifact_type, changes_in.data)
        except ValidationError as invalid:
            raise errors.ValidationError(
                f"data of a {artifact.artifact_type.value} artifact: {first_problem(invalid)}",
                details={"field": "data"},
            ) from None
    for name in ("retention_policy", "retention_limit"):
        if (value := getattr(changes_in, name)) is not None:
            changes[name] = value
    updated = await artifacts.repository.update(session, id=id, changes=changes)
    await session.commit()
    return _read(request, updated)


@router.delete(
    "/artifacts/{id}",
    status_code=204,
    responses=errors_of(403, 404),
    **needs(Resource.ARTIFACT, Verb.DELETE),
)
async def delete_artifact(
    session: SessionDep, services: ServicesDep, request: Request, id: RecordId
) -> Response:
    """Delete one version of an artifact, and its file."""
    artifact = await artifact_for(session, request, id, Verb.DELETE)
    stored = artifact.stored_file
    await artifacts.repository.delete(session, id=id)
    await session.commit()
    services.artifacts.remove([stored])
    return Response(status_code=204)
