"""`attune purge` on the test session's PostgreSQL: a dry run counts, a run deletes, bad
ages and a missing database are refused naming them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Execution, ExecutionStatus
from tests.attune.test_cli_inquiries import Ran, run_cli
from tests.db.factories import make_execution
from tests.db.test_retention import OLD, backdated


async def purge(database_url: str | None, tmp_path: Path, *arguments: str) -> Ran:
    environment = {**os.environ, "ATTUNE_DATA_DIR": str(tmp_path / "data")}
    environment.pop("ATTUNE_DATABASE_URL", None)
    if database_url is not None:
        environment["ATTUNE_DATABASE_URL"] = database_url
    return await run_cli(environment, "purge", *arguments)


async def test_a_dry_run_counts_and_a_run_deletes_the_old(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    old = await backdated(
        session,
        await make_execution(session, status=ExecutionStatus.COMPLETED, ended_at=OLD),
    )
    await session.commit()

    dry = await purge(database_url, tmp_path, "--older-than", "100d", "--dry-run", "-o", "json")
    still = await session.scalar(select(Execution.id).where(Execution.id == old.id))
    ran = await purge(database_url, tmp_path, "--older-than", "2400h", "--events-older-than", "0")
    gone = await session.scalar(select(Execution.id).where(Execution.id == old.id))

    assert dry.code == 0, dry.stderr
    counted = json.loads(dry.stdout)
    assert set(counted) == {"executions", "enforcements", "events", "workers", "artifacts"}
    assert counted["executions"] >= 1
    assert still == old.id
    assert ran.code == 0, ran.stderr
    header, *rows = ran.stdout.splitlines()
    assert header.split() == ["KIND", "DELETED"]
    assert rows[0].split()[0] == "executions"
    assert int(rows[0].split()[1].replace(",", "")) >= 1
    assert gone is None


async def test_a_bad_age_or_no_database_is_refused_naming_it(
    database_url: str, tmp_path: Path
) -> None:
    bad = await purge(database_url, tmp_path, "--older-than", "a month")
    nowhere = await purge(None, tmp_path, "--dry-run")

    assert bad.code == 2
    assert "--older-than: 'a month' is not an age like 30d" in bad.stderr
    assert nowhere.code == 2
    assert "ATTUNE_DATABASE_URL: not set, and no embedded PostgreSQL runs in" in nowhere.stderr
