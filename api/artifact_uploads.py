"""Reading the body of `POST /artifacts`: JSON for url, progress and other artifacts, a
multipart form (a `file` and the fields of `ArtifactFileFields`) for files."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from api.request_guard import FORM_UPLOAD_SCOPE_KEY
from api.schemas.artifacts import ArtifactCreate, ArtifactFileFields, ArtifactUpdate
from attune import errors
from attune.json_limits import check_json

ModelT = TypeVar("ModelT", bound=BaseModel)
# The fields of ArtifactFileFields, and the file: a form with more is refused.
MAX_FORM_FIELDS = 16
MAX_FIELD_BYTES = 64 * 1024


def is_upload(request: Request) -> bool:
    """Whether the request guard let the body in as a form: anything else it checked as
    JSON, and it is read as JSON."""
    return bool(request.scope.get(FORM_UPLOAD_SCOPE_KEY))


async def json_artifact(request: Request) -> ArtifactCreate:
    """The JSON body as an `ArtifactCreate`; 422 naming the field that is wrong."""
    return _validated(ArtifactCreate, await request.body())


async def update_of(request: Request) -> ArtifactUpdate:
    return _validated(ArtifactUpdate, await request.body())


@contextlib.asynccontextmanager
async def uploaded_file(request: Request) -> AsyncIterator[tuple[ArtifactFileFields, UploadFile]]:
    """The form's fields and its file, for the block (the spooled file is closed after);
    422 naming what is missing or wrong."""
    try:
        form = await request.form(
            max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except errors.AttuneError:
        raise  # the guard's own refusal (413) as the body streams in
    except Exception as unreadable:  # Starlette raises its HTTPException, or a parse error
        detail = getattr(unreadable, "detail", None) or str(unreadable) or "unreadable form"
        raise errors.ValidationError(
            f"body: not a multipart form Attune can read: {detail}", details={"field": "body"}
        ) from None
    try:
        yield _fields_of(form)
    finally:
        await form.close()


def _fields_of(form: FormData) -> tuple[ArtifactFileFields, UploadFile]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise errors.ValidationError(
            "file: a multipart upload needs its content in the form field `file`",
            details={"field": "file"},
        )
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name == "file":
            continue
        if not isinstance(value, str):
            raise errors.ValidationError(
                f"{name}: only `file` may be a file", details={"field": name}
            )
        if name in fields:
            raise errors.ValidationError(f"{name}: given twice", details={"field": name})
        check_json(value, field=name)  # the guard checks JSON bodies, not forms
        fields[name] = value
    if "name" not in fields and upload.filename:
        check_json(upload.filename, field="file")
        filename = upload.filename
        fields["name"] = filename.replace("\\", "/").rsplit("/", 1)[-1] or None
    try:
        return ArtifactFileFields.model_validate(fields), upload
    except ValidationError as invalid:
        raise RequestValidationError(_in_body(invalid)) from None


def _validated(model: type[ModelT], body: bytes) -> ModelT:
    try:
        return model.model_validate_json(body or b"null")
    except ValidationError as invalid:
        raise RequestValidationError(_in_body(invalid)) from None


def _in_body(invalid: ValidationError) -> list[Any]:
    return [{**problem, "loc": ("body", *problem["loc"])} for problem in invalid.errors()]
