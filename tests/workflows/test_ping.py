"""`attune.Ping` runs on a real worker and reaches the real database."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from attune.worker import build_worker
from tests.conftest import TemporalServer
from tests.workers import running
from workflows.ping import PingWorkflow


async def test_ping_reaches_postgres_through_a_worker(
    temporal: TemporalServer, engine: AsyncEngine, task_queue: str
) -> None:
    async with running(build_worker(temporal.client, task_queue=task_queue, engine=engine)):
        result = await temporal.client.execute_workflow(
            PingWorkflow.run, id=f"ping-{uuid.uuid4()}", task_queue=task_queue
        )
    async with engine.connect() as connection:
        expected = (await connection.exec_driver_sql("SHOW server_version")).scalar_one()
    assert result.database_version == expected
    assert result.worker_host
