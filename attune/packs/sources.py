"""Where the API may register packs from: the folders the operator allowed, and no other.

Registering by path reads files on the API's machine and echoes what is wrong with them,
so an unconfined path would let any caller read any file the API can: a folder whose
pack.yaml is a link to /etc/shadow got each of its lines back as a problem. A path is
accepted only when, with every link followed, it lies inside one of the pack folders
(`ATTUNE_PACKS_DIRS`, by default `<data dir>/packs`) or the packs bundled with Attune.
Anything else is uploaded as an archive (`POST /packs/upload`, `attune pack register`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from attune import errors
from attune.config import BUNDLED_PACKS_DIR, Settings
from attune.excerpts import excerpt

MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255


def allowed_pack_roots(settings: Settings) -> tuple[Path, ...]:
    """The folders packs may be registered from by path."""
    return (*settings.pack_folders, BUNDLED_PACKS_DIR, settings.core_pack_dir)


def confined_pack_folder(path: str, roots: Iterable[Path]) -> Path:
    """`path` resolved, when it lies inside one of `roots`.

    `ValidationError` (422) for a path that is not one; `PermissionDenied` (403) for one
    outside every root, without saying which folders are allowed.
    """
    given = Path(path)
    if not given.is_absolute():
        raise errors.ValidationError(
            f"path: must be absolute, not {excerpt(path)}", details={"field": "path"}
        )
    if len(os.fsencode(path)) > MAX_PATH_BYTES or any(
        len(os.fsencode(part)) > MAX_NAME_BYTES for part in given.parts
    ):
        raise errors.ValidationError(
            f"path: longer than the system allows ({MAX_PATH_BYTES} bytes, "
            f"{MAX_NAME_BYTES} a name)",
            details={"field": "path"},
        )
    try:
        resolved = given.resolve()
        inside = any(resolved.is_relative_to(root.resolve()) for root in roots)
    except (OSError, RuntimeError) as error:  # RuntimeError: a loop of links
        raise errors.ValidationError(
            f"path: cannot be resolved: {error.__class__.__name__}", details={"field": "path"}
        ) from None
    if not inside:
        raise errors.PermissionDenied(
            f"path: {excerpt(path)} is outside the folders packs may be registered from "
            "(ATTUNE_PACKS_DIRS); upload the pack instead: `attune pack register FOLDER` "
            "or POST /api/v1/packs/upload",
            details={"field": "path"},
        )
    return resolved
