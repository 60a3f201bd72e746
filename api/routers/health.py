"""Health: is the API able to reach PostgreSQL and Temporal right now?"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import ServicesDep
from api.services import Services

router = APIRouter(tags=["health"])

# A health probe must answer quickly even when a dependency hangs rather than refuses.
CHECK_TIMEOUT_SECONDS = 3.0


class HealthRead(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    temporal: str
    errors: dict[str, str] = {}


async def _check_database(services: Services) -> None:
    async with services.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_temporal(services: Services) -> None:
    serving = await services.temporal.service_client.check_health(
        timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)
    )
    if not serving:
        raise ConnectionError("the frontend answered but is not serving")


async def _probe(check: Coroutine[Any, Any, None], where: str) -> str | None:
    """None when the check passed, else a message naming the address it tried."""
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer from {where} within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as error:
        return f"cannot reach {where}: {error}"
    return None


@router.get(
    "/health",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "a dependency is unreachable"}},
)
async def health(services: ServicesDep, response: Response) -> HealthRead:
    """200 when PostgreSQL and Temporal both answer; 503 naming the part that does not."""
    database_problem, temporal_problem = await asyncio.gather(
        _probe(_check_database(services), f"PostgreSQL at {_database_location(services)}"),
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
        errors=problems,
    )


def _database_location(services: Services) -> str:
    url = services.engine.url
    socket = url.query.get("host")
    return f"{url.host or socket}:{url.port or 5432}/{url.database}"
