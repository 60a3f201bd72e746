"""Bearer tokens, checked by the request guard, on a tiny app of its own (no real route)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.auth import CurrentIdentity
from api.deps import SessionDep
from api.errors import install_error_handlers
from api.main import guard_rules
from api.request_guard import RequestGuard
from api.services import Services
from attune.auth.tokens import issue_token, new_token
from attune.config import Settings
from attune.engine.workflow_starts import WorkflowStarter
from db.engine import create_session_factory
from db.models import Identity
from db.repositories import api_token, identity
from tests.db.factories import make_identity

NOWHERE = "127.0.0.1:1"
# Under the API's prefix, where the request guard authenticates before any route runs.
WHOAMI = "/api/v1/whoami"


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def client(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    app.add_middleware(RequestGuard, rules=guard_rules(settings))

    @app.get(WHOAMI)
    async def whoami(caller: CurrentIdentity, session: SessionDep) -> dict[str, str]:
        # The route still owns its session: a transaction of its own must start cleanly.
        async with session.begin():
            again = await identity.repository.get(session, id=caller.id)
        return {"login": again.login}

    temporal = await Client.connect(NOWHERE, lazy=True)
    app.state.services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        temporal=temporal,
        temporal_address=NOWHERE,
        starter=WorkflowStarter.from_settings(temporal, settings),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://attune.test") as client:
        yield client


@pytest.fixture
async def caller(sessions: async_sessionmaker[AsyncSession]) -> tuple[Identity, str]:
    async with sessions() as session, session.begin():
        someone = await make_identity(session)
        token = await issue_token(session, identity_id=someone.id)
    return someone, token


def assert_401(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {
        "error": {"code": "unauthenticated", "message": message, "details": {}}
    }


async def test_no_header_is_401_saying_how_to_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get(WHOAMI)
    assert_401(response, "missing bearer token: send Authorization: Bearer <token>")


async def test_wrong_scheme_is_401_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get(WHOAMI, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_401(
        response, "unsupported authorization scheme 'Basic': send Authorization: Bearer <token>"
    )


async def test_a_bare_token_is_401_without_echoing_it(
    client: httpx.AsyncClient, caller: tuple[Identity, str]
) -> None:
    _, token = caller
    response = await client.get(WHOAMI, headers={"Authorization": token})
    assert_401(response, "unsupported authorization scheme: send Authorization: Bearer <token>")
    assert token not in response.text


async def test_empty_bearer_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(WHOAMI, headers={"Authorization": "Bearer "})
    assert_401(response, "empty bearer token: send Authorization: Bearer <token>")


async def test_bad_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(WHOAMI, headers={"Authorization": f"Bearer {new_token()}"})
    assert_401(response, "invalid or expired token")


async def test_good_token_is_200_with_the_login(
    client: httpx.AsyncClient, caller: tuple[Identity, str]
) -> None:
    someone, token = caller
    response = await client.get(WHOAMI, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"login": someone.login}


async def test_scheme_is_case_insensitive(
    client: httpx.AsyncClient, caller: tuple[Identity, str]
) -> None:
    someone, token = caller
    response = await client.get(WHOAMI, headers={"Authorization": f"bearer {token}"})
    assert response.json() == {"login": someone.login}


async def test_use_is_committed(
    client: httpx.AsyncClient,
    caller: tuple[Identity, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    someone, token = caller
    await client.get(WHOAMI, headers={"Authorization": f"Bearer {token}"})
    async with sessions() as session:
        [row] = await api_token.list_by_identity(session, identity_id=someone.id)
        assert row.last_used_at is not None


async def test_openapi_declares_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"][WHOAMI]["get"]["security"] == [{"HTTPBearer": []}]
