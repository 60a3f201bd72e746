"""A PostgreSQL of a benchmark's own: started in a fresh folder, gone when it ends."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from attune.embedded_postgres import ensure_database, start_embedded_postgres


@contextlib.asynccontextmanager
async def throwaway_database(prefix: str) -> AsyncIterator[tuple[Path, str]]:
    """A work folder and the URL of a new database on an embedded server in it."""
    with tempfile.TemporaryDirectory(prefix=prefix) as temporary:
        workdir = Path(temporary)
        postgres = start_embedded_postgres(workdir / "postgres", throwaway=True)
        try:
            yield workdir, await ensure_database(postgres.socket_dir, "attune_bench")
        finally:
            postgres.stop()
