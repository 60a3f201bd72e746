"""People who answer inquiries, and asking through the API, in a line each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle

from attune.auth.tokens import issue_token
from attune.config import Settings
from db.engine import create_session_factory
from db.repositories import identity as identities
from tests.conftest import api_client, hold_sets
from tests.db.factories import unique

APPROVAL = {
    "type": "object",
    "properties": {"approve": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["approve"],
    "additionalProperties": False,
}


@dataclass
class Person:
    """An identity of its own, and the API as that identity calls it."""

    login: str
    api: httpx.AsyncClient


@asynccontextmanager
async def person(
    engine: AsyncEngine, settings: Settings, name: str, *, sets: Sequence[str] = ("operator",)
) -> AsyncIterator[Person]:
    """A new identity (`<name>-<unique>`) holding `sets` (an operator's: it may answer),
    with a token, and an API client using it."""
    login = unique(f"{name}-")
    async with create_session_factory(engine).begin() as session:
        identity = await identities.repository.create(session, login=login)
        await hold_sets(session, identity.id, sets)
        token = await issue_token(session, identity_id=identity.id, label="tests")
    async with api_client(settings, token=token) as client:
        yield Person(login, client)


async def start_ask(
    api: httpx.AsyncClient,
    *,
    prompt: str = "Deploy to production?",
    schema: dict[str, Any] | None = None,
    assignees: Sequence[str] = (),
    ttl: int = 60,
) -> tuple[int, dict[str, Any]]:
    """Run `core.ask`; the execution id and its inquiry, once the inquiry is written."""
    parameters = {
        "prompt": prompt,
        "schema": APPROVAL if schema is None else schema,
        "assignees": list(assignees),
        "ttl": ttl,
    }
    response = await api.post(
        "/api/v1/executions", json={"action": "core.ask", "parameters": parameters}
    )
    assert response.status_code == 201, response.text
    execution_id: int = response.json()["id"]
    return execution_id, await wait_for_inquiry(api, execution_id)


async def wait_for_inquiry(
    api: httpx.AsyncClient, execution_id: int, *, within: float = 20.0
) -> dict[str, Any]:
    """Poll `GET /inquiries?execution=` until the execution's inquiry exists."""
    deadline = time.monotonic() + within
    while True:
        response = await api.get("/api/v1/inquiries", params={"execution": execution_id})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if items:
            return items[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} wrote no inquiry in {within}s")
        await asyncio.sleep(0.05)


async def inquiry_and_execution(
    api: httpx.AsyncClient, inquiry_id: int, execution_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both records as the API shows them now: compared whole to prove nothing changed."""
    inquiry = await api.get(f"/api/v1/inquiries/{inquiry_id}")
    execution = await api.get(f"/api/v1/executions/{execution_id}")
    assert inquiry.status_code == 200, inquiry.text
    assert execution.status_code == 200, execution.text
    return inquiry.json(), execution.json()


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The names of the Updates the workflow accepted, from its history: a refused answer
    must leave none."""
    names = []
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted = event.workflow_execution_update_accepted_event_attributes
            names.append(accepted.accepted_request.input.name)
    return names
