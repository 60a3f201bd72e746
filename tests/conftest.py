"""One real PostgreSQL and one real Temporal server per test session.

`ATTUNE_TEST_DATABASE_URL` and `TEMPORAL_ADDRESS` switch to external servers. Each test
that needs isolation makes its own task queue and unique refs, so order does not matter.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

from api.main import create_app
from attune.auth.tokens import issue_token
from attune.config import Settings, decode_encryption_key
from attune.packs.registrar import register_pack_folder
from attune.payload_codec import encrypting_data_converter
from attune.temporal_setup import connect_temporal, register_search_attributes
from attune.worker import runner_settings_from, worker_from_settings
from db import migrate
from db.engine import create_engine, create_session_factory
from db.models import PermissionAssignment
from db.repositories import identity as identities
from db.repositories import permission_set as permission_sets
from tests.servers import ensure_database_when_ready, skip_fsync, start_postgres, start_temporal
from tests.servers import free_port as free_port  # where other tests have always found it
from tests.workers import running

TEST_DATABASE = "attune_test"
TEST_ENCRYPTION_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
TEST_KEY_BYTES = decode_encryption_key(TEST_ENCRYPTION_KEY)
TEST_DATA_CONVERTER = encrypting_data_converter([TEST_KEY_BYTES])
"""What the tests' Temporal clients, workers and replayers encode payloads with."""


@dataclass
class TemporalServer:
    client: Client
    address: str


@pytest.fixture(scope="session")
def postgres_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The embedded server's socket directory, or None when an external server is used."""
    if os.environ.get("ATTUNE_TEST_DATABASE_URL"):
        yield None
        return
    # Waited for (and retried) within a bound, so a busy machine does not fail the session.
    server = start_postgres(tmp_path_factory.mktemp("pg") / "data")
    try:
        yield server.socket_dir
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def database_url(postgres_admin: str | None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for the whole session."""
    external = os.environ.get("ATTUNE_TEST_DATABASE_URL")
    if external:
        url = Settings(database_url=external).database_url
        assert url is not None
    else:
        assert postgres_admin is not None
        url = await ensure_database_when_ready(postgres_admin, TEST_DATABASE)
        await skip_fsync(postgres_admin)
    await migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    # The core pack is there in every real database (`attune up` registers it).
    async with create_session_factory(engine)() as session:
        await register_pack_folder(session, Settings().core_pack_dir)
        await session.commit()
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def admin_token(engine: AsyncEngine) -> str:
    """A bearer token of an identity of the test session's own, holding `admin`."""
    async with create_session_factory(engine).begin() as session:
        identity = await identities.repository.create(session, login=f"tester-{uuid.uuid4()}")
        await hold_sets(session, identity.id, ["admin"])
        return await issue_token(session, identity_id=identity.id, label="tests")


async def hold_sets(session: AsyncSession, identity_id: int, names: Sequence[str]) -> None:
    """Assign the named permission sets to the identity (straight in the database)."""
    for name in names:
        held = await permission_sets.repository.get_by_key(session, name)
        session.add(PermissionAssignment(identity_id=identity_id, permission_set_id=held.id))
    await session.flush()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with create_session_factory(engine)() as session:
        yield session


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[TemporalServer]:
    """A Temporal dev server in memory, with Attune's search attributes registered."""
    address = os.environ.get("TEMPORAL_ADDRESS")
    if address:
        client = await connect_temporal(address, "default", keys=[TEST_KEY_BYTES])
        await register_search_attributes(client, "default")
        yield TemporalServer(client=client, address=address)
        return
    # Waited for (and retried) within a bound, so a busy machine does not fail the session.
    environment, port = await start_temporal(TEST_DATA_CONVERTER)
    try:
        await register_search_attributes(environment.client, "default")
        yield TemporalServer(client=environment.client, address=f"127.0.0.1:{port}")
    finally:
        await environment.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of other tests never take its tasks."""
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def settings(
    database_url: str,
    engine: AsyncEngine,
    temporal: TemporalServer,
    task_queue: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        # Tests write their packs under their own tmp_path: the API may register from there.
        packs_dirs=(tmp_path_factory.getbasetemp(),),
        database_url=database_url,
        temporal_address=temporal.address,
        task_queue=task_queue,
        encryption_key=SecretStr(TEST_ENCRYPTION_KEY),
        # Short enough that lost-worker and kill tests finish in seconds.
        action_heartbeat_timeout=3.0,
        action_kill_grace=1.0,
        # A test's worker stops at the end of its block: running actions get a moment.
        worker_shutdown_grace=1.0,
        # A killed worker's workflows move on to the next worker within seconds, not ten.
        worker_sticky_timeout=2.0,
    )


@pytest.fixture
async def api(settings: Settings, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process, with its lifespan run, authenticated."""
    async with api_client(settings, token=admin_token) as client:
        yield client


@pytest.fixture
async def anonymous_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The same API without credentials: what a stranger (or a signed webhook) sends."""
    async with api_client(settings) as client:
        yield client


def make_worker(
    temporal: TemporalServer, engine: AsyncEngine, settings: Settings
) -> AbstractAsyncContextManager[Worker]:
    """A real worker for this test's task queue, running for an `async with` block."""
    return running(
        worker_from_settings(temporal.client, engine, settings, runner_settings_from(settings))
    )


@pytest.fixture
async def worker(
    temporal: TemporalServer, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[Worker]:
    """A real worker polling this test's task queue."""
    async with make_worker(temporal, engine, settings) as polling:
        yield polling


def api_client(settings: Settings, *, token: str | None = None) -> _ApiClient:
    return _ApiClient(settings, token)


class _ApiClient:
    """Runs the app's lifespan around an httpx client on the ASGI transport."""

    def __init__(self, settings: Settings, token: str | None) -> None:
        self._app = create_app(settings)
        self._lifespan = self._app.router.lifespan_context(self._app)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._app),
            base_url="http://attune.test",
            headers=headers,
        )

    async def __aenter__(self) -> httpx.AsyncClient:
        await self._lifespan.__aenter__()
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(None, None, None)
