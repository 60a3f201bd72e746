"""The data of JSON artifacts: a progress figure and a link have shapes; `other` is any JSON."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from db.models import ArtifactType

MAX_MESSAGE_CHARS = 1000
# Refs, owners and names are indexed and told on the stream (NOTIFY holds 8000 bytes, a
# btree entry about 2,700): 500 characters of at most 4 bytes each, none a control one.
MAX_TEXT_CHARS = 500


def printable(value: str) -> str:
    """`value`, when it holds no control character (no NUL, no newline); else ValueError."""
    if not value.isprintable():
        raise ValueError("must be printable text, without control characters")
    return value


Ref = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description="Groups versions across executions: `pack.name` or free text.",
    ),
    AfterValidator(printable),
]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(printable)]


class ProgressData(BaseModel):
    """A progress artifact's data: how far along, and what is happening."""

    model_config = ConfigDict(extra="forbid")

    percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    message: Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)] = ""


class UrlData(BaseModel):
    """A url artifact's data: a link (a ticket, a dashboard) and what to call it."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    title: Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)] = ""


def checked_data(artifact_type: ArtifactType, data: Any) -> Any:
    """The data as stored: progress and url data fit their shapes (`ValidationError`
    naming the field), other data is any JSON; file artifacts hold none."""
    if artifact_type is ArtifactType.PROGRESS:
        return ProgressData.model_validate(data).model_dump()
    if artifact_type is ArtifactType.URL:
        return UrlData.model_validate(data).model_dump(mode="json")
    return data


def first_problem(invalid: ValidationError) -> str:
    problem = invalid.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])
