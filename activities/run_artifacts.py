"""A run's artifacts folder: made before a process runner starts, its files kept as the
execution's artifacts once the action ends (`attune.artifacts.collect`), then removed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.run_endings import storable_json
from activities.runners.action_user import ActionUser
from activities.runners.types import PROCESS_RUNNER_TYPES
from attune.artifacts.collect import Collected, collect_artifacts, prepare_artifacts_dir
from attune.artifacts.store import ArtifactStore

logger = logging.getLogger(__name__)
# How many refused artifacts a result names; how often a long keeping says it is alive.
MAX_REFUSALS = 20
KEEP_ALIVE_SECONDS = 1.0


def discard(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


class RunArtifacts:
    """Where runs get their ATTUNE_ARTIFACTS_DIR (`work_dir`, or private temp folders),
    and how what they leave there is kept in `store` (None: runs get no folder)."""

    def __init__(
        self,
        transactions: async_sessionmaker[AsyncSession],
        store: ArtifactStore | None,
        work_dir: Path | None,
        action_user: ActionUser | None,
    ) -> None:
        self._transactions = transactions
        self._store = store
        self._work_dir = work_dir
        self._user = action_user

    def folder_for(self, execution_id: int, runner_type: str) -> Path | None:
        """The run's fresh ATTUNE_ARTIFACTS_DIR, for a runner that starts a process."""
        if self._store is None or runner_type not in PROCESS_RUNNER_TYPES:
            return None
        # Only a claimed run gets one, and a claimed execution never runs again (a lost
        # run's next attempt ends it, discarding its folder): no older one to look for.
        if self._work_dir is None:
            folder = Path(tempfile.mkdtemp(prefix=f"attune-artifacts-{execution_id}-"))
        else:
            # Named by no one else: under a parent others cannot list, hard to guess.
            folder = self._work_dir / f"execution-{execution_id}-{secrets.token_hex(8)}"
        owner = None if self._user is None else (self._user.uid, self._user.gid)
        return prepare_artifacts_dir(folder, owner)

    def discard_folders(self, execution_id: int) -> None:
        """Remove what runs of this execution left in the work folder."""
        if self._work_dir is not None:
            for folder in self._work_dir.glob(f"execution-{execution_id}-*"):
                discard(folder)

    async def collect(
        self, execution_id: int, action_ref: str, folder: Path | None, ending: Path | None
    ) -> Collected:
        """Keep the files the action left as its artifacts: those made, and why any were
        refused (at most MAX_REFUSALS of them, as text PostgreSQL can store). `ending` is
        the run's ending file, kept fresh meanwhile."""
        if folder is None or self._store is None:
            return Collected()
        try:
            async with _kept_alive(ending):
                collected = await collect_artifacts(
                    self._transactions,
                    self._store,
                    folder,
                    execution_id=execution_id,
                    action_ref=action_ref,
                    owner_uid=None if self._user is None else self._user.uid,
                )
        except Exception as error:
            # The ending matters more than the artifacts: record it whatever happened here.
            logger.exception("keeping the artifacts of execution %d failed", execution_id)
            failed = f"the artifacts could not be kept ({type(error).__name__})"
            collected = Collected(refused=[failed])
        refused = collected.refused
        if len(refused) > MAX_REFUSALS:
            refused = [*refused[:MAX_REFUSALS], f"and {len(refused) - MAX_REFUSALS} more"]
        collected.refused = storable_json(refused)
        return collected


@contextlib.asynccontextmanager
async def _kept_alive(ending: Path | None) -> AsyncIterator[None]:
    """While the artifacts are kept: heartbeats go on (a large copy runs in a thread), and
    the ending file stays fresh, so ending recovery does not take this live run's ending
    for a lost one and record it first."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(KEEP_ALIVE_SECONDS)
            activity.heartbeat()
            if ending is not None:
                with contextlib.suppress(OSError):
                    os.utime(ending)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
