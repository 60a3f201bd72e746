"""An `attune worker` as a real process, for tests that signal or kill it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from attune.config import Settings
from tests.conftest import TEST_ENCRYPTION_KEY, TemporalServer


async def start_worker_process(
    settings: Settings, temporal: TemporalServer, data_dir: Path, **environment: str
) -> asyncio.subprocess.Process:
    """`python -m attune worker` on the test's task queue; `environment` adds ATTUNE_* values."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "attune",
        "worker",
        env={
            **os.environ,
            "ATTUNE_DATABASE_URL": str(settings.database_url),
            # Every Temporal payload is encrypted: the worker needs the key the tests use.
            "ATTUNE_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
            "TEMPORAL_ADDRESS": temporal.address,
            "ATTUNE_TASK_QUEUE": settings.task_queue,
            "ATTUNE_DATA_DIR": str(data_dir),
            "ATTUNE_RECONCILE_INTERVAL": "3600",
            "ATTUNE_ACTION_HEARTBEAT_TIMEOUT": str(settings.action_heartbeat_timeout),
            "ATTUNE_WORKER_STICKY_TIMEOUT": str(settings.worker_sticky_timeout),
            **environment,
        },
    )


@contextlib.asynccontextmanager
async def worker_process(
    settings: Settings, temporal: TemporalServer, data_dir: Path, **environment: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`start_worker_process` for a block; SIGKILLed at its end if it still runs."""
    process = await start_worker_process(settings, temporal, data_dir, **environment)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
