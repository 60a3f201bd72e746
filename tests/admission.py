"""Helpers for admission tests: limited actions, bursts of runs, and what the rows recorded."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_session_factory
from db.models import Execution
from tests.executions import TERMINAL
from tests.pack_folders import register_pack, write_pack

# Runs its `cmd` parameter with /bin/sh: `sleep 0.1`, `echo $PPID` (its guard's pid).
SHELL_ACTION = {"runner_type": "local-shell-cmd", "parameters": {"cmd": {"type": "string"}}}
NOOP_ACTION = {"runner_type": "noop"}


async def limited_action(
    api: httpx.AsyncClient,
    root: Path,
    *,
    limit: int | None = None,
    action: dict[str, Any] | None = None,
    **policy: Any,
) -> str:
    """Register a pack of its own with one action `work` and a policy on it; its ref."""
    pack = f"adm{uuid.uuid4().hex[:10]}"
    ref = f"{pack}.work"
    fields: dict[str, Any] = {"action": ref, **policy}
    if limit is not None:
        fields["concurrency"] = {"limit": limit, **fields.get("concurrency", {})}
    folder = write_pack(
        root,
        pack,
        actions={"work": action or NOOP_ACTION},
        policies={"gate": fields},
    )
    await register_pack(api, folder)
    return ref


async def request_runs(
    api: httpx.AsyncClient,
    action: str,
    count: int,
    *,
    parameters: dict[str, Any] | None = None,
    in_flight: int = 16,
) -> list[int]:
    """Ask for `count` runs, `in_flight` requests at a time; the execution ids."""
    ids: list[int] = []
    for start in range(0, count, in_flight):
        batch = min(in_flight, count - start)
        responses = await asyncio.gather(
            *(
                api.post(
                    "/api/v1/executions", json={"action": action, "parameters": parameters or {}}
                )
                for _ in range(batch)
            )
        )
        for response in responses:
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    return ids


@dataclass(frozen=True)
class Run:
    """One execution as admission recorded it."""

    id: int
    status: str
    queue_position: int | None
    admitted_at: datetime | None
    released_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    result: Any


async def runs_of(engine: AsyncEngine, action: str) -> list[Run]:
    """Every execution of the action, by queue position."""
    async with create_session_factory(engine)() as session:
        rows = await session.scalars(
            select(Execution).where(Execution.action_ref == action).order_by(Execution.id)
        )
        return sorted(
            (
                Run(
                    row.id,
                    row.status.value,
                    row.queue_position,
                    row.admitted_at,
                    row.released_at,
                    row.started_at,
                    row.ended_at,
                    row.result,
                )
                for row in rows
            ),
            key=lambda run: run.queue_position or 0,
        )


async def wait_until_all_ended(
    engine: AsyncEngine, action: str, count: int, *, within: float
) -> list[Run]:
    """Poll the rows until `count` executions of the action have ended."""
    deadline = time.monotonic() + within
    while True:
        runs = await runs_of(engine, action)
        ended = [run for run in runs if run.status in TERMINAL]
        if len(ended) >= count:
            return runs
        if time.monotonic() > deadline:
            statuses = sorted({run.status for run in runs})
            raise AssertionError(
                f"{len(ended)} of {count} runs of {action} ended within {within}s ({statuses})"
            )
        await asyncio.sleep(0.25)


def grant_inversions(runs: Sequence[Run]) -> int:
    """Pairs granted out of request order: an earlier position admitted after a later one."""
    granted = [
        (run.queue_position, run.admitted_at)
        for run in runs
        if run.queue_position is not None and run.admitted_at is not None
    ]
    inversions = 0
    for index, (position, admitted_at) in enumerate(granted):
        for later_position, later_admitted_at in granted[index + 1 :]:
            if position < later_position and admitted_at > later_admitted_at:
                inversions += 1
    return inversions


def most_at_once(intervals: Sequence[tuple[datetime | None, datetime | None]]) -> int:
    """The largest number of the intervals open at one instant (an end precedes a start)."""
    events: list[tuple[datetime, int]] = []
    for start, end in intervals:
        assert start is not None, "an interval without a start"
        assert end is not None, "an interval still open"
        events += [(start, 1), (end, -1)]
    open_now = peak = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        open_now += change
        peak = max(peak, open_now)
    return peak


async def queue_stats(api: httpx.AsyncClient, action: str) -> dict[str, Any]:
    response = await api.get(f"/api/v1/actions/{action}/queue-stats")
    assert response.status_code == 200, response.text
    stats: dict[str, Any] = response.json()
    return stats
