"""What the artifact routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.params import INT64_MAX
from attune.artifacts.data import Ref, Text, checked_data, first_problem
from attune.artifacts.kinds import DEFAULT_RETENTION, FILE_TYPES
from db.models import Artifact, ArtifactType, OwnerType, RetentionPolicy

ExecutionId = Annotated[int, Field(ge=1, le=INT64_MAX)]
RetentionLimit = Annotated[
    int,
    Field(ge=1, le=2**31 - 1, description="How many versions, or days/hours/minutes, to keep."),
]
JsonType = Literal["url", "progress", "other"]
FileType = Literal["file_binary", "file_datatable", "file_image", "file_text"]


class ArtifactFields(BaseModel):
    """What any new artifact says of itself."""

    model_config = ConfigDict(extra="forbid")

    ref: Ref
    execution_id: ExecutionId | None = Field(
        default=None,
        description="The execution it belongs to (an execution token's own, always).",
    )
    scope: OwnerType | None = Field(
        default=None, description="Default: `action` for an execution's, else `system`."
    )
    owner: Text | None = Field(default=None, description="Default: the execution's action.")
    retention_policy: RetentionPolicy = DEFAULT_RETENTION[0]
    retention_limit: RetentionLimit = DEFAULT_RETENTION[1]


class ArtifactCreate(ArtifactFields):
    """A JSON artifact: a link, a progress figure, or any other JSON."""

    type: JsonType
    data: Any = Field(
        default=None,
        description="`url`: {url, title?}; `progress`: {percent 0-100, message?}; "
        "`other`: any JSON.",
    )

    @model_validator(mode="after")
    def _data_fits_type(self) -> ArtifactCreate:
        try:
            self.data = checked_data(ArtifactType(self.type), self.data)
        except ValidationError as invalid:
            raise ValueError(f"data of a {self.type} artifact: {first_problem(invalid)}") from None
        return self


class ArtifactFileFields(ArtifactFields):
    """The form fields beside the `file` of a multipart upload."""

    type: FileType | None = Field(default=None, description="Default: from the file's name.")
    name: Text | None = Field(default=None, description="Default: the uploaded file's name.")


class ArtifactUpdate(BaseModel):
    """What may change: the data of a JSON artifact (a progress figure), and retention."""

    model_config = ConfigDict(extra="forbid")

    data: Any = None
    retention_policy: RetentionPolicy | None = None
    retention_limit: RetentionLimit | None = None


class ArtifactRead(BaseModel):
    id: int
    ref: str
    type: ArtifactType
    scope: OwnerType
    owner: str
    pack: str | None = Field(description="The pack whose permissions reach it.")
    execution_id: int | None = Field(description="None once its execution was deleted.")
    name: str | None
    content_type: str | None
    size_bytes: int
    sha256: str | None
    data: Any
    retention_policy: RetentionPolicy
    retention_limit: int
    content_url: str | None = Field(description="Where its bytes download, for a file.")
    created: datetime
    updated: datetime

    @classmethod
    def of(cls, artifact: Artifact, content_url: str) -> ArtifactRead:
        """The artifact as shown; `content_url` is where a file artifact's bytes are."""
        has_file = artifact.artifact_type in FILE_TYPES
        return cls(
            id=artifact.id,
            ref=artifact.ref,
            type=artifact.artifact_type,
            scope=artifact.scope,
            owner=artifact.owner,
            pack=artifact.pack_ref,
            execution_id=artifact.execution_id,
            name=artifact.name,
            content_type=artifact.content_type,
            size_bytes=artifact.size_bytes,
            sha256=artifact.sha256,
            data=artifact.data,
            retention_policy=artifact.retention_policy,
            retention_limit=artifact.retention_limit,
            content_url=content_url if has_file else None,
            created=artifact.created,
            updated=artifact.updated,
        )
