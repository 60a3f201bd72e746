"""What the system recorded: execution rows in PostgreSQL, workflows in Temporal.

The suite reads PostgreSQL directly, through the data dir's socket, so it can count even
when the API is the part that is down. If PostgreSQL is not running when the count is due
(the launcher gave up, say), it is started on the data dir just long enough to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from attune.data_dir import traversable_only
from attune.embedded_postgres import start_embedded_postgres
from chaos.load import prompt_of
from chaos.pack import ASK, FIFO, WORK
from chaos.system import System
from workflows.ids import workflow_id_for

TERMINAL = frozenset({"completed", "failed", "cancelled", "timeout", "abandoned"})
POLL_SECONDS = 1.0
_QUERY = """
SELECT id, action_ref, status::text AS status, parameters, queue_position,
       extract(epoch FROM admitted_at)::float8 AS admitted_at, error
FROM attune.execution WHERE action_ref = ANY($1::text[])
"""


@dataclass(frozen=True)
class Row:
    id: int
    action_ref: str
    status: str
    seq: int | None
    queue_position: int | None
    admitted_at: float | None
    error: str | None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def _seq_of(action_ref: str, parameters: dict[str, object]) -> int | None:
    if action_ref == ASK:
        prompt = str(parameters.get("prompt", ""))
        prefix = prompt_of(0)[:-1]
        return int(prompt[len(prefix) :]) if prompt.startswith(prefix) else None
    seq = parameters.get("seq")
    return seq if isinstance(seq, int) else None


async def read_rows(data_dir: Path) -> dict[int, Row] | None:
    """Every execution of the chaos load, by id; None when PostgreSQL does not answer."""
    try:
        connection = await asyncpg.connect(
            user="postgres", database="attune", host=str(data_dir / "postgres"), timeout=5
        )
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        records = await connection.fetch(_QUERY, [WORK, FIFO, ASK], timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    finally:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            await connection.close(timeout=5)
    rows = {}
    for record in records:
        parameters = json.loads(record["parameters"]) if record["parameters"] else {}
        rows[record["id"]] = Row(
            id=record["id"],
            action_ref=record["action_ref"],
            status=record["status"],
            seq=_seq_of(record["action_ref"], parameters),
            queue_position=record["queue_position"],
            admitted_at=record["admitted_at"],
            error=record["error"],
        )
    return rows


async def wait_terminal(data_dir: Path, ids: set[int], deadline: float) -> dict[int, Row] | None:
    """Poll until every acknowledged execution that has a row has ended, or `deadline`."""
    rows: dict[int, Row] | None = None
    while True:
        rows = await read_rows(data_dir) or rows
        if rows is not None and all(rows[id].terminal for id in ids if id in rows):
            return rows
        if time.monotonic() >= deadline:
            return rows
        await asyncio.sleep(POLL_SECONDS)


async def read_rows_anyhow(system: System) -> dict[int, Row] | None:
    """The rows, starting PostgreSQL on the data dir for the read if nothing runs it."""
    rows = await read_rows(system.data_dir)
    if rows is not None or system.up_running():
        return rows
    with traversable_only(system.data_dir):
        server = await asyncio.to_thread(start_embedded_postgres, system.data_dir / "postgres")
    try:
        return await read_rows(system.data_dir)
    finally:
        postmaster = system.postmaster()
        await asyncio.to_thread(server.stop)
        if postmaster is not None and postmaster.is_running():
            # pgserver leaves it running when a dead launcher is still on its handle list.
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                postmaster.send_signal(signal.SIGINT)
                await asyncio.to_thread(postmaster.wait, 30)


async def workflows_missing(temporal_port: int, ids: set[int]) -> set[int] | None:
    """Which of these executions have no workflow in Temporal; None if Temporal is away."""
    if not ids:
        return set()
    try:
        client = await asyncio.wait_for(Client.connect(f"127.0.0.1:{temporal_port}"), 10)
    except (RuntimeError, OSError, TimeoutError):
        return None
    missing = set()
    for id in ids:
        try:
            await client.get_workflow_handle(workflow_id_for(id)).describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                return None
            missing.add(id)
    return missing
