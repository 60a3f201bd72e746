"""Telling an unreachable PostgreSQL from a bad statement, and waiting for it to answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from db import outages
from db.engine import DatabaseUnreachable, create_engine
from db.outages import is_database_unreachable, until_database_answers


def nowhere(tmp_path: Path) -> AsyncEngine:
    """An engine whose server's socket directory holds no server."""
    return create_engine(f"postgresql+asyncpg://postgres@/attune?host={tmp_path}")


async def select_one(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        value: int = (await connection.execute(text("SELECT 1"))).scalar_one()
    return value


async def test_a_refused_connect_is_unreachable_and_a_bad_statement_is_not(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    gone = nowhere(tmp_path)
    with pytest.raises(DatabaseUnreachable) as refused:
        await select_one(gone)
    await gone.dispose()
    assert is_database_unreachable(refused.value)

    async with engine.connect() as connection:
        with pytest.raises(ProgrammingError) as wrong:
            await connection.execute(text("SELECT no_such_column"))
    assert not is_database_unreachable(wrong.value)


async def test_the_wait_goes_on_until_the_database_answers(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages, "FIRST_PAUSE_SECONDS", 0.01)
    gone = nowhere(tmp_path)
    attempts: list[str] = []
    beats: list[int] = []

    async def write() -> int:
        # The first two attempts meet a server that is not there; the third one is back.
        attempts.append("try")
        return await select_one(gone if len(attempts) <= 2 else engine)

    try:
        answer = await until_database_answers(
            write, what="in a test", while_waiting=lambda: beats.append(1)
        )
    finally:
        await gone.dispose()

    assert answer == 1
    assert len(attempts) == 3
    assert len(beats) == 2  # a heartbeat during each wait


async def test_a_bad_statement_is_not_waited_for(engine: AsyncEngine) -> None:
    attempts = 0

    async def wrong() -> None:
        nonlocal attempts
        attempts += 1
        async with engine.connect() as connection:
            await connection.execute(text("SELECT no_such_column"))

    with pytest.raises(ProgrammingError):
        await until_database_answers(wrong, what="in a test")
    assert attempts == 1
