"""What an artifact is, from its file's name: its type and its content type."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from db.models import ArtifactType, RetentionPolicy

DATATABLE_SUFFIXES = frozenset({".csv", ".tsv"})
# Text that mimetypes files under application/*: still read as text by a person.
TEXT_SUFFIXES = frozenset(
    {".txt", ".log", ".md", ".json", ".yaml", ".yml", ".xml", ".html", ".htm", ".ini", ".toml"}
)
FILE_TYPES = frozenset(
    {
        ArtifactType.FILE_BINARY,
        ArtifactType.FILE_DATATABLE,
        ArtifactType.FILE_IMAGE,
        ArtifactType.FILE_TEXT,
    }
)
"""The types whose artifacts hold bytes; the others (url, progress, other) hold JSON."""
DEFAULT_RETENTION = (RetentionPolicy.VERSIONS, 10)
"""What an artifact is kept by when its producer says nothing: the last 10 versions of its ref."""
BINARY = "application/octet-stream"


def content_type_of(name: str) -> str:
    """The content type a download of the file `name` is served with."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".csv":
        return "text/csv"
    if suffix == ".tsv":
        return "text/tab-separated-values"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed is None:
        return "text/plain" if suffix in TEXT_SUFFIXES else BINARY
    return guessed


def type_of(name: str) -> ArtifactType:
    """`.csv`/`.tsv` a data table, images an image, text a text file, anything else binary."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in DATATABLE_SUFFIXES:
        return ArtifactType.FILE_DATATABLE
    content_type = content_type_of(name)
    if content_type.startswith("image/"):
        return ArtifactType.FILE_IMAGE
    if content_type.startswith("text/") or suffix in TEXT_SUFFIXES:
        return ArtifactType.FILE_TEXT
    return ArtifactType.FILE_BINARY
