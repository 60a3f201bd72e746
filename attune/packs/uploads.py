"""Packs uploaded as archives: unpacked into the packs folder, one folder per upload.

An upload lands in `<packs folder>/<ref>/<digest of the archive>/`, so a registration
never rewrites the files an older registration pointed at: a run that started on the old
files keeps them while it runs. The newest `KEPT_VERSIONS` of each pack are kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import IO

from attune.data_dir import prepare_packs_dir
from attune.packs.archive import extract_pack_archive
from attune.packs.definitions import PackDefinition
from attune.packs.loader import load_pack

KEPT_VERSIONS = 3
DIGEST_CHARS = 16


def store_uploaded_pack(archive: IO[bytes], packs_folder: Path) -> PackDefinition:
    """Unpack, check and keep an uploaded pack archive; the loaded pack, at its new home.

    Raises `ValidationError` (or `PackError`) naming the problem, leaving nothing behind.
    Blocking: run it in a thread.
    """
    prepare_packs_dir(packs_folder)
    digest = _digest(archive)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=packs_folder))
    try:
        folder = extract_pack_archive(archive, incoming / "pack")
        definition = load_pack(folder)
        home = packs_folder / definition.ref / digest[:DIGEST_CHARS]
        if home.exists():
            os.utime(home)  # the same archive again: now the newest version
        else:
            home.parent.mkdir(exist_ok=True)
            folder.rename(home)
        _prune(home)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    # Loaded where it was unpacked; the same files now live at `home`.
    return replace(definition, path=home.resolve())


def _digest(archive: IO[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in iter(lambda: archive.read(1024 * 1024), b""):
        hasher.update(chunk)
    archive.seek(0)
    return hasher.hexdigest()


def _prune(current: Path) -> None:
    """Remove all but the newest versions of a pack; never `current`."""
    others = [path for path in current.parent.iterdir() if path != current]
    others.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    for old in others[KEPT_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
