"""GET /api/v1/health against the real servers, and with each one missing."""

from __future__ import annotations

import httpx

from attune.config import Settings
from tests.conftest import api_client, free_port


async def test_ok_when_both_answer(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    # Worker processes of other tests may be beating: how many is the database tests' part.
    assert isinstance(body.pop("workers_alive"), int)
    assert body == {"status": "ok", "database": "ok", "temporal": "ok", "errors": {}}


async def test_503_names_temporal_and_its_address(settings: Settings) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    broken = settings.model_copy(update={"temporal_address": nowhere})
    async with api_client(broken) as api:
        response = await api.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["temporal"]) == (
        "unavailable",
        "ok",
        "unavailable",
    )
    assert nowhere in body["errors"]["temporal"]
    assert "database" not in body["errors"]


async def test_503_names_the_database(settings: Settings) -> None:
    port = free_port()
    broken = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://attune@127.0.0.1:{port}/attune"}
    )
    async with api_client(broken) as api:
        response = await api.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["temporal"]) == ("unavailable", "ok")
    assert f"127.0.0.1:{port}" in body["errors"]["database"]
    assert body["workers_alive"] is None  # unknown: only the database could say
