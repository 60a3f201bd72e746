"""Factories and checks for the history suites (events, enforcements, executions, ...).

History lists are newest first and page by keyset on `id` with `before_id`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Artifact, ArtifactType, Execution, Inquiry, Notification, Record
from db.repositories import artifact, inquiry, notification
from tests.db.factories import make_execution, unique

PageFetcher = Callable[[int | None], Awaitable[Sequence[Record]]]


async def make_inquiry(
    session: AsyncSession, of: Execution | None = None, **values: Any
) -> Inquiry:
    of = of or await make_execution(session)
    fields: dict[str, Any] = {"execution_id": of.id, "prompt": "Proceed?"}
    return await inquiry.repository.create(session, **(fields | values))


async def make_notification(session: AsyncSession, **values: Any) -> Notification:
    fields: dict[str, Any] = {
        "channel": unique("chan"),
        "entity_type": "execution",
        "entity_id": "1",
        "activity": "updated",
    }
    return await notification.repository.create(session, **(fields | values))


async def make_artifact(session: AsyncSession, **values: Any) -> Artifact:
    fields: dict[str, Any] = {"ref": unique("artifact"), "artifact_type": ArtifactType.OTHER}
    return await artifact.repository.create(session, **(fields | values))


async def walk_back(fetch_page: PageFetcher) -> list[int]:
    """Every id a history list yields, following `before_id` from page to page until empty."""
    seen: list[int] = []
    before_id: int | None = None
    for _ in range(1000):
        page = await fetch_page(before_id)
        if not page:
            return seen
        seen.extend(record.id for record in page)
        before_id = page[-1].id
    raise AssertionError("paging never ended")


def ids(records: Sequence[Record]) -> list[int]:
    return [record.id for record in records]


def newest_first(records: Sequence[Record]) -> list[int]:
    """The records' ids as a history list must give them: highest (newest) first."""
    return sorted(ids(records), reverse=True)
