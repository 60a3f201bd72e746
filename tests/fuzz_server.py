"""The real API in a process of its own, for the OpenAPI fuzz test (tests/api/test_openapi_fuzz.py).

The fuzzer gets a database of its own on the session's embedded PostgreSQL, so nothing it
creates (policies on core actions, webhook secrets, executions) reaches other tests, and the
rows seeded here get the ids 1, 2 that its requests name. No worker ever polls its task
queue: no fuzzed execution runs an action.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from attune.auth.admin import ADMIN_TOKEN_FILE
from attune.bootstrap import prepare_database
from attune.config import Settings
from attune.embedded_postgres import ensure_database
from db.engine import create_engine, create_session_factory
from db.models import InquiryStatus
from db.repositories import pack as packs
from tests.db.factories import (
    make_action,
    make_enforcement,
    make_event,
    make_execution,
    make_pack,
    make_rule,
    make_trigger,
)
from tests.db.factories_definitions import make_policy
from tests.db.factories_history import make_inquiry

PROJECT = Path(__file__).resolve().parents[1]
FUZZ_DATABASE = "attune_fuzz"
HEALTH = "/api/v1/health"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Seeded:
    """What exists before the first fuzzed request, by kind (the core pack's, and ours)."""

    packs: tuple[str, ...] = ("core", "fuzz")
    actions: tuple[str, ...] = ("core.noop", "fuzz.noop")
    triggers: tuple[str, ...] = ("core.webhook", "fuzz.hook")
    rules: tuple[str, ...] = ("fuzz.on_hook",)
    policies: tuple[str, ...] = ("fuzz.limit",)
    # A new database numbers every table from 1: these are the ids of the events,
    # enforcements, executions and inquiries seeded (each execution has a pending inquiry).
    ids: tuple[int, ...] = (1, 2)


SEEDED = Seeded()


async def fuzz_database_url(postgres_admin: str | None, shared_url: str) -> str:
    """A database of the fuzzer's own on the embedded server (new with each session's server).

    With an external server (ATTUNE_TEST_DATABASE_URL) the tests have no right to create
    one: the shared database is used, and the seeded rows get whatever ids come next.
    """
    if postgres_admin is None:
        return shared_url
    return await ensure_database(postgres_admin, FUZZ_DATABASE)


# Where the fuzzer's own database numbers the executions it creates. Their workflows are
# named `execution-<id>` on the Temporal server the tests share, and stay there unfinished
# (no worker polls the fuzzer's task queue): from 1, they would take the ids of executions
# the shared database creates later, whose starts Temporal would then refuse as duplicates.
FUZZ_EXECUTION_IDS_FROM = 1_000_000_000


async def prepare(settings: Settings, *, own_database: bool) -> str:
    """Migrate, register the core pack, seed the rows of `SEEDED`; return the admin token."""
    assert settings.database_url is not None
    await prepare_database(settings.database_url, settings)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            if await packs.repository.find_by_key(session, "fuzz") is None:
                pack = await make_pack(session, ref="fuzz")
                action = await make_action(session, pack, name="noop")
                trigger = await make_trigger(session, pack, name="hook", trigger_type="webhook")
                rule = await make_rule(session, on=trigger, runs=action, name="on_hook")
                await make_policy(session, pack, name="limit", on=action, concurrency_limit=5)
                for _ in SEEDED.ids:
                    event = await make_event(session, on=trigger, payload={"seeded": True})
                    await make_enforcement(session, by=rule, of=event)
                    execution = await make_execution(session, of=action)
                    await make_inquiry(session, of=execution, status=InquiryStatus.PENDING)
                if own_database:
                    await session.execute(
                        text(
                            "ALTER TABLE attune.execution ALTER COLUMN id "
                            f"RESTART WITH {FUZZ_EXECUTION_IDS_FROM}"
                        )
                    )
    finally:
        await engine.dispose()
    return (settings.data_dir / ADMIN_TOKEN_FILE).read_text().strip()


@dataclass(frozen=True)
class RunningApi:
    base_url: str
    token: str
    log: Path


@contextmanager
def api_process(settings: Settings, token: str, *, log: Path) -> Iterator[RunningApi]:
    """`python -m attune api` with these settings, once its health check answers 200."""
    assert settings.database_url is not None
    assert settings.encryption_key is not None
    environment = {
        **os.environ,
        "ATTUNE_DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": settings.temporal_address or "",
        "ATTUNE_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "ATTUNE_API_HOST": settings.api_host,
        "ATTUNE_API_PORT": str(settings.api_port),
        "ATTUNE_DATA_DIR": str(settings.data_dir),
        "ATTUNE_TASK_QUEUE": settings.task_queue,
        # Tracebacks of 500s are logged at ERROR; the access log would only be noise.
        "ATTUNE_LOG_LEVEL": "WARNING",
    }
    base_url = f"http://{settings.api_host}:{settings.api_port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "attune", "api"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(process, base_url, log)
            yield RunningApi(base_url=base_url, token=token, log=log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}:\n{log_since(log, 0)}")
        try:
            response = httpx.get(base_url + HEALTH, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.1)
    raise RuntimeError(
        f"the API was not healthy within {START_TIMEOUT:.0f} s ({last}):\n{log_since(log, 0)}"
    )


def log_since(log: Path, offset: int, *, limit: int = 200_000) -> str:
    """What the API logged after `offset`, each traceback cut down to its exception lines and
    the innermost frame in Attune's own code (the log keeps them whole)."""
    # The handler logs before the 500 goes out; give the write a moment to land all the same.
    time.sleep(0.05)
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read(limit).decode(errors="replace").splitlines()
    ours = f'  File "{PROJECT}/'
    kept: list[str] = []
    frame: list[str] = []
    for number, line in enumerate(lines):
        if "Exception in ASGI application" in line:
            break  # uvicorn logging the same error again, once the 500 has gone out
        if line.startswith(ours) and "/.venv/" not in line:
            code = lines[number + 1 : number + 2]
            frame = [line, *(text for text in code if text.startswith("    "))]
        elif line and not line.startswith(" "):
            if not line.startswith("Traceback"):
                kept += frame
                frame = []
            kept.append(line[:300])
    return "\n".join(kept[:40]) or "(nothing)"


def unique_task_queue() -> str:
    return f"fuzz-{uuid.uuid4()}"
