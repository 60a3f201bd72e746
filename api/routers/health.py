"""Health: is the API able to reach PostgreSQL and Temporal right now?"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.services import Services
from db.repositories import worker as workers

router = APIRouter(tags=["health"])
T = TypeVar("T")

# A health probe must answer quickly even when a dependency hangs rather than refuses.
CHECK_TIMEOUT_SECONDS = 3.0


class HealthRead(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    temporal: str
    workers_alive: int | None = Field(
        default=None,
        description="Workers beating on time (`GET /workers`); unknown while PostgreSQL is away.",
    )
    errors: dict[str, str] = {}


async def _count_workers(services: Services) -> int:
    """Reaching PostgreSQL, and counting the workers that beat on time while there."""
    async with services.engine.connect() as connection:
        return await workers.count_alive(connection)


async def _check_temporal(services: Services) -> bool:
    serving = await services.temporal.service_client.check_health(
        timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
    )
    if not serving:
        raise ConnectionError("the frontend answered but is not serving")
    return True


async def _probe(check: Coroutine[Any, Any, T], where: str) -> tuple[T | None, str | None]:
    """What the check found, or a message naming the address it tried."""
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS), None
    except TimeoutError:
        return None, f"no answer from {where} within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as error:
        return None, f"cannot reach {where}: {error}"


@router.get(
    "/health",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "a dependency is unreachable"}},
)
async def health(services: ServicesDep, response: Response) -> HealthRead:
    """200 when PostgreSQL and Temporal both answer; 503 naming the part that does not."""
    (workers_alive, database_problem), (_, temporal_problem) = await asyncio.gather(
        _probe(_count_workers(services), f"PostgreSQL at {_database_location(services)}"),
        _probe(_check_temporal(services), f"Temporal at {services.temporal_address}"),
    )
    problems = {
        name: problem
        for name, problem in (("database", database_problem), ("temporal", temporal_problem))
        if problem is not None
    }
    if problems:
        response.status_code = 503
    return HealthRead(
        status="unavailable" if problems else "ok",
        database="unavailable" if database_problem else "ok",
        temporal="unavailable" if temporal_problem else "ok",
        workers_alive=workers_alive,
        errors=problems,
    )


def _database_location(services: Services) -> str:
    url = services.engine.url
    socket = url.query.get("host")
    return f"{url.host or socket}:{url.port or 5432}/{url.database}"
