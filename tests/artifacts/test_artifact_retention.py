"""Artifacts kept by their ref's retention, through the same purge as history: the last N
versions, or those younger than N minutes; their files go with them, and orphan files of
the store go once they are old."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.artifacts.saving import ArtifactDraft, save_artifact
from attune.artifacts.store import ArtifactLimits, ArtifactStore
from attune.retention import ORPHAN_AGE, purge_artifacts, purge_history
from db.engine import create_session_factory
from db.models import Artifact, ArtifactType, RetentionPolicy
from db.repositories import artifact as artifacts
from db.repositories.retention import Cutoffs
from tests.db.factories import unique


def store_in(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "store", ArtifactLimits(inline_bytes=16))


async def versions(
    engine: AsyncEngine,
    store: ArtifactStore,
    ref: str,
    count: int,
    policy: RetentionPolicy,
    limit: int,
    pack: str | None = None,
) -> list[int]:
    """`count` versions of `ref`, each holding a file in the store (past the inline size)."""
    made = []
    for n in range(count):
        draft = ArtifactDraft(
            ref=ref,
            artifact_type=ArtifactType.FILE_BINARY,
            name=f"v{n}.bin",
            pack_ref=pack,
            retention_policy=policy,
            retention_limit=limit,
        )
        kept = store.keep(io.BytesIO(os.urandom(64)))
        async with create_session_factory(engine).begin() as session:
            made.append((await save_artifact(session, store, draft, kept)).id)
    return made


async def left_of(engine: AsyncEngine, ref: str) -> list[int]:
    async with create_session_factory(engine)() as session:
        return sorted(row.id for row in await artifacts.repository.list(session, ref=ref))


async def backdate(engine: AsyncEngine, ids: list[int], by: timedelta) -> None:
    async with create_session_factory(engine).begin() as session:
        await session.execute(
            update(Artifact).where(Artifact.id.in_(ids)).values(created=Artifact.created - by)
        )


async def test_versions_keeps_exactly_the_newest_n_and_removes_the_others_files(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    ref, forever = unique("kept3"), unique("forever")
    made = await versions(engine, store, ref, 5, RetentionPolicy.VERSIONS, 3)
    others = await versions(engine, store, forever, 2, RetentionPolicy.VERSIONS, 0)
    sessions = create_session_factory(engine)
    now = datetime.now(UTC)

    assert await purge_artifacts(sessions, store, now=now, dry_run=True) >= 2
    assert await left_of(engine, ref) == made
    deleted = await purge_artifacts(sessions, store, now=now, batch_size=1)

    assert deleted >= 2
    assert await left_of(engine, ref) == made[2:]
    assert await left_of(engine, forever) == others  # a limit below 1 keeps all
    assert len(list(store.directory.iterdir())) == 5
    assert await purge_artifacts(sessions, store, now=now) == 0
    assert await left_of(engine, ref) == made[2:]


async def test_minutes_removes_the_old_versions_even_the_newest_and_follows_the_newest_policy(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    ref = unique("minutes")
    old = await versions(engine, store, ref, 2, RetentionPolicy.VERSIONS, 100)
    await backdate(engine, old, timedelta(minutes=30))
    young = await versions(engine, store, ref, 1, RetentionPolicy.MINUTES, 10)
    sessions = create_session_factory(engine)

    # The newest version's policy (10 minutes) governs the ref: the two old ones go.
    await purge_history(sessions, Cutoffs(executions=None, events=None), store=store)
    assert await left_of(engine, ref) == young
    assert len(list(store.directory.iterdir())) == 1

    # Once it too is older than its 10 minutes, the newest goes as well.
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert await purge_artifacts(sessions, store, now=later) >= 1
    assert await left_of(engine, ref) == []
    assert list(store.directory.iterdir()) == []


async def test_hours_and_days_count_in_their_units(engine: AsyncEngine, tmp_path: Path) -> None:
    store = store_in(tmp_path)
    hours, days = unique("hours"), unique("days")
    by_hours = await versions(engine, store, hours, 2, RetentionPolicy.HOURS, 2)
    by_days = await versions(engine, store, days, 2, RetentionPolicy.DAYS, 2)
    await backdate(engine, by_hours[:1], timedelta(hours=3))
    await backdate(engine, by_days[:1], timedelta(hours=3))
    await purge_artifacts(create_session_factory(engine), store, now=datetime.now(UTC))
    assert await left_of(engine, hours) == by_hours[1:]
    assert await left_of(engine, days) == by_days


async def test_orphan_files_go_once_old_and_files_of_rows_stay(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    held = await versions(engine, store, unique("held"), 1, RetentionPolicy.VERSIONS, 5)
    orphan = store.keep(io.BytesIO(os.urandom(64)))
    young_orphan = store.keep(io.BytesIO(os.urandom(64)))
    partial = store.directory / ("0" * 32 + ".partial")
    partial.write_bytes(b"cut short")
    stale = time.time() - ORPHAN_AGE.total_seconds() - 60
    for name in (orphan.stored_file, "0" * 32 + ".partial"):
        os.utime(store.directory / str(name), (stale, stale))
    async with create_session_factory(engine)() as session:
        row = await artifacts.repository.get(session, id=held[0])
    os.utime(store.directory / str(row.stored_file), (stale, stale))

    await purge_artifacts(create_session_factory(engine), store, now=datetime.now(UTC))

    assert sorted(path.name for path in store.directory.iterdir()) == sorted(
        [str(row.stored_file), str(young_orphan.stored_file)]
    )


async def test_a_ref_of_another_pack_never_decides_what_of_this_one_is_kept(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    ref = unique("shared")
    ours = await versions(engine, store, ref, 3, RetentionPolicy.VERSIONS, 5, pack="ours")
    # Another pack's newest version of the same ref asks to keep one version only.
    theirs = await versions(engine, store, ref, 2, RetentionPolicy.VERSIONS, 1, pack="theirs")
    await purge_artifacts(create_session_factory(engine), store, now=datetime.now(UTC))
    assert await left_of(engine, ref) == [*ours, theirs[1]]


async def test_the_largest_limits_keep_their_versions_and_the_purge_goes_on(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store = store_in(tmp_path)
    by_days, by_hours = unique("huge-days"), unique("huge-hours")
    kept = [
        *await versions(engine, store, by_days, 1, RetentionPolicy.DAYS, 2**31 - 1),
        *await versions(engine, store, by_hours, 1, RetentionPolicy.HOURS, 2**31 - 1),
    ]
    await backdate(engine, kept, timedelta(days=3650))
    short = unique("short")
    gone = await versions(engine, store, short, 2, RetentionPolicy.VERSIONS, 1)
    await purge_artifacts(create_session_factory(engine), store, now=datetime.now(UTC))
    assert await left_of(engine, by_days) + await left_of(engine, by_hours) == kept
    assert await left_of(engine, short) == gone[1:]
