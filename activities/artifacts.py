"""The activity behind `attune.sdk.attach_artifact` and `attune.sdk.progress` in pack
workflows: a workflow cannot write files or call the API (it must be deterministic), so
it asks its worker to write the artifact.

Retried until it works, so it is idempotent: what one execution attaches twice under one
ref (text of the same name and bytes, a link or data equal to one attached before) is
one artifact, and progress updates the newest progress artifact of the execution's ref,
or creates it. What can never be stored is refused, not retried.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.pack_workflow_checks import check_caller, refusal
from activities.pack_workflow_types import AttachedArtifact, WorkflowArtifact
from attune import errors
from attune.artifacts.data import Ref, Text, checked_data, first_problem
from attune.artifacts.kinds import FILE_TYPES, content_type_of, type_of
from attune.artifacts.saving import ArtifactDraft, save_artifact
from attune.artifacts.store import ArtifactStore
from attune.json_limits import json_problem
from db.models import Artifact, ArtifactType, OwnerType
from db.outages import is_database_unreachable
from db.repositories import execution as executions

_REF: TypeAdapter[str] = TypeAdapter(Ref)
_TEXT: TypeAdapter[str] = TypeAdapter(Text)


class ArtifactActivities:
    def __init__(
        self, transactions: async_sessionmaker[AsyncSession], store: ArtifactStore | None
    ) -> None:
        self._sessions = transactions
        self._store = store

    @activity.defn(name="attune.attach_artifact")
    async def attach(self, input: WorkflowArtifact) -> AttachedArtifact:
        check_caller(input.execution_id)
        if self._store is None:
            raise refusal("this worker keeps no artifacts (it has no artifact store)")
        name = input.name or "artifact.txt"
        try:
            artifact_type = ArtifactType(input.artifact_type or type_of(name))
            _REF.validate_python(input.ref)
            _TEXT.validate_python(name)
        except ValidationError as invalid:
            return AttachedArtifact(refused=f"ref or name: {first_problem(invalid)}")
        except ValueError:
            return AttachedArtifact(refused=f"unknown artifact type {input.artifact_type!r}")
        if (problem := json_problem(input.data, field="data")) is not None:
            return AttachedArtifact(refused=": ".join(problem))  # a NUL jsonb cannot hold
        input = dataclasses.replace(input, artifact_type=artifact_type.value, name=name)
        try:
            async with self._sessions() as session, session.begin():
                execution = await executions.repository.get(session, id=input.execution_id)
                if artifact_type in FILE_TYPES:
                    made = await self._attach_text(session, input, execution.action_ref)
                else:
                    made = await self._attach_data(session, input, execution.action_ref)
                return AttachedArtifact(artifact_id=made.id)
        except errors.AttuneError as refused:
            return AttachedArtifact(refused=refused.message)
        except ValidationError as invalid:
            return AttachedArtifact(
                refused=f"data of a {artifact_type.value} artifact: {first_problem(invalid)}"
            )
        except DBAPIError as failed:
            if is_database_unreachable(failed):
                raise  # retried until the database answers
            # What PostgreSQL refuses once it refuses every time.
            return AttachedArtifact(refused=f"the artifact could not be stored: {failed.orig}")

    async def _attach_text(
        self, session: AsyncSession, input: WorkflowArtifact, action_ref: str
    ) -> Artifact:
        assert self._store is not None
        content = (input.text or "").encode("utf-8")
        digest = hashlib.sha256(content).hexdigest()
        same = await session.scalar(
            select(Artifact).where(
                Artifact.execution_id == input.execution_id,
                Artifact.ref == input.ref,
                Artifact.name == input.name,
                Artifact.sha256 == digest,
            )
        )
        if same is not None:
            return same
        kept = self._store.keep(io.BytesIO(content), what=f"artifact {input.ref!r}")
        name = input.name or ""
        draft = self._draft(input, action_ref, name=name, content_type=content_type_of(name))
        return await save_artifact(session, self._store, draft, kept)

    async def _attach_data(
        self, session: AsyncSession, input: WorkflowArtifact, action_ref: str
    ) -> Artifact:
        assert self._store is not None
        artifact_type = ArtifactType(input.artifact_type)
        data = checked_data(artifact_type, input.data)
        if artifact_type is ArtifactType.PROGRESS:
            newest = await session.scalar(
                select(Artifact)
                .where(
                    Artifact.execution_id == input.execution_id,
                    Artifact.ref == input.ref,
                    Artifact.artifact_type == ArtifactType.PROGRESS,
                )
                .order_by(Artifact.id.desc())
                .limit(1)
            )
            if newest is not None:
                newest.data = data
                await session.flush()
                return newest
        else:
            same = await session.scalar(
                select(Artifact).where(
                    Artifact.execution_id == input.execution_id,
                    Artifact.ref == input.ref,
                    Artifact.artifact_type == artifact_type,
                    Artifact.data == data,
                )
            )
            if same is not None:
                return same  # attached before: a retry, or the same link again
        draft = self._draft(input, action_ref, data=data)
        return await save_artifact(session, self._store, draft)

    @staticmethod
    def _draft(input: WorkflowArtifact, action_ref: str, **more: object) -> ArtifactDraft:
        return ArtifactDraft(
            ref=input.ref,
            artifact_type=ArtifactType(input.artifact_type),
            execution_id=input.execution_id,
            pack_ref=action_ref.partition(".")[0],
            scope=OwnerType.ACTION,
            owner=action_ref,
            **more,  # type: ignore[arg-type]
        )
