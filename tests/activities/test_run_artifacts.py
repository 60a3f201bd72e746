"""A run's artifacts folder as the execution activity keeps it, against the real
PostgreSQL: a long keeping goes on heartbeating and keeps the run's ending file fresh
(else ending recovery would take the live run for a lost one), and a flood of refusals
is cut to what a result can name."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.run_artifacts import KEEP_ALIVE_SECONDS, MAX_REFUSALS, RunArtifacts
from attune.artifacts.store import ArtifactLimits, ArtifactStore, Kept
from db.engine import create_session_factory
from db.models import Execution, ExecutionStatus
from tests.db.factories import make_action, make_execution, make_pack


class SlowStore(ArtifactStore):
    """A store on a slow disk: each keeping takes a few keep-alive periods."""

    def keep(self, source: BinaryIO, *, what: str = "the artifact") -> Kept:
        time.sleep(KEEP_ALIVE_SECONDS * 2.5)
        return super().keep(source, what=what)


async def running(engine: AsyncEngine) -> Execution:
    async with create_session_factory(engine).begin() as session:
        action = await make_action(session, await make_pack(session))
        return await make_execution(session, action, status=ExecutionStatus.RUNNING)


def run_artifacts(engine: AsyncEngine, store: ArtifactStore, tmp_path: Path) -> RunArtifacts:
    work = tmp_path / "work"
    work.mkdir()
    return RunArtifacts(create_session_factory(engine), store, work, None)


async def test_a_long_keeping_heartbeats_and_keeps_the_ending_fresh(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    execution = await running(engine)
    runs = run_artifacts(engine, SlowStore(tmp_path / "store", ArtifactLimits()), tmp_path)
    folder = runs.folder_for(execution.id, "local-shell-cmd")
    assert folder is not None
    (folder / "report.txt").write_text("done\n")
    ending = tmp_path / "ending.json"
    ending.write_text("{}")
    os.utime(ending, (0, 0))  # as old as an ending a dead worker left
    beats: list[Any] = []
    environment = ActivityEnvironment()
    environment.on_heartbeat = lambda *details: beats.append(details)

    collected = await environment.run(
        runs.collect, execution.id, execution.action_ref, folder, ending
    )

    assert [name for _, name in collected.kept] == ["report.txt"]
    assert len(beats) >= 2
    assert ending.stat().st_mtime > time.time() - 60
    assert not folder.exists()


async def test_refusals_are_cut_to_what_a_result_names(engine: AsyncEngine, tmp_path: Path) -> None:
    execution = await running(engine)
    runs = run_artifacts(engine, ArtifactStore(tmp_path / "store", ArtifactLimits()), tmp_path)
    folder = runs.folder_for(execution.id, "python-script")
    assert folder is not None
    for n in range(MAX_REFUSALS + 5):
        os.symlink("/etc/passwd", folder / f"link-{n:02}")

    collected = await ActivityEnvironment().run(
        runs.collect, execution.id, execution.action_ref, folder, None
    )

    assert collected.kept == []
    assert len(collected.refused) == MAX_REFUSALS + 1
    assert (
        collected.refused[0] == "link-00: is a symbolic link: only regular files become artifacts"
    )
    assert collected.refused[-1] == "and 5 more"
    assert runs.folder_for(execution.id, "noop") is None
