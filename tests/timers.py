"""Timer rules in tests: a pack with one timer rule, its events, and its cleanup.

Every test shares one database, and reconciling is global (every timer rule gets a
schedule on the reconciling process's task queue), so a timer test removes its timer
rules when it ends: `timer_packs` does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, ScheduleDescription

from attune.timers.schedules import reconcile_schedules
from db.engine import create_session_factory
from db.models import Event
from db.repositories import event as events
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack
from workflows.ids import schedule_id_for


def timer_pack(root: Path, trigger: str, parameters: dict[str, Any], **rule: Any) -> Path:
    """A pack whose rule `tick` runs `core.noop` on the timer `trigger`."""
    ref = unique("tm")
    fields = {"trigger": {"type": trigger, "parameters": parameters}} | {
        "action": {"ref": "core.noop"}
    }
    return write_pack(root, ref, rules={"tick": fields | rule})


def rule_ref_of(folder: Path) -> str:
    return f"{folder.name}.tick"


async def events_of(engine: AsyncEngine, trigger: str, rule_ref: str) -> list[Event]:
    """The events a timer rule's schedule fired, oldest first."""
    async with create_session_factory(engine)() as session:
        found = await events.list_by_trigger_ref(session, trigger_ref=trigger, limit=1000)
    return sorted(
        (event for event in found if event.payload.get("rule") == rule_ref),
        key=lambda event: event.id,
    )


async def wait_for_events(
    engine: AsyncEngine, trigger: str, rule_ref: str, count: int, *, within: float
) -> list[Event]:
    deadline = time.monotonic() + within
    while True:
        found = await events_of(engine, trigger, rule_ref)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} events of {rule_ref} in {within}s")
        await asyncio.sleep(0.2)


async def describe(client: Client, rule_ref: str) -> ScheduleDescription:
    return await client.get_schedule_handle(schedule_id_for(rule_ref)).describe()


class TimerPacks:
    """Registers timer packs for one test, and remembers them to take their rules away."""

    def __init__(self, api: httpx.AsyncClient, root: Path) -> None:
        self.api = api
        self.root = root
        self.folders: list[Path] = []

    async def register(
        self, trigger: str, parameters: dict[str, Any], **rule: Any
    ) -> tuple[Path, str]:
        """A registered pack whose rule `tick` is a timer: its folder and the rule's ref."""
        folder = timer_pack(self.root, trigger, parameters, **rule)
        self.folders.append(folder)
        await register_pack(self.api, folder)
        return folder, rule_ref_of(folder)


@pytest.fixture
async def timer_packs(
    api: httpx.AsyncClient, engine: AsyncEngine, temporal: Any, task_queue: str, tmp_path: Path
) -> AsyncIterator[TimerPacks]:
    """The test's timer packs; their rules (and so their schedules) go at the end."""
    packs = TimerPacks(api, tmp_path)
    yield packs
    for folder in packs.folders:
        (folder / "rules" / "tick.yaml").unlink(missing_ok=True)
        await register_pack(api, folder)
    await reconcile_schedules(
        create_session_factory(engine), temporal.client, task_queue=task_queue
    )
