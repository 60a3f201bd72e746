"""`make bench-retention`: listing executions at a million rows, and while the retention
purge deletes a million.

(a) Seeds ROWS old ended executions (200 to 100 days old), a tenth as many old events,
    each with an enforcement, and RECENT new executions, with `generate_series`.
(b) Times `GET /executions` with the filters operators use, against an `attune api`
    process of its own: p50 and p95 of each over SAMPLES calls.
(c) Runs `attune purge --older-than 100d` in a process of its own and, while it runs,
    times the same calls again; then how long the purge took and how many rows went.

    python -m bench.retention [ROWS]     (ROWS defaults to 1,000,000)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

import httpx
from pydantic import SecretStr
from sqlalchemy import text

from attune.bootstrap import prepare_database
from attune.config import Settings
from attune.encryption_key import generate_encryption_key
from attune.supervision.parts import api_part
from attune.supervision.supervisor import start_part, stop_parts
from bench.databases import throwaway_database
from bench.stats import RunFigures
from db.engine import create_engine
from tests.conftest import free_port

RECENT = 10_000
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "200"))
ACTIONS = ("core.noop", "core.local", "core.http", "ops.deploy", "ops.rare")
# The lists an operator asks for: everything, one action, failures, one action's failures,
# one action's that never failed, one rule's, one rare action's and rule's (their rows
# are few and old), and a trigger's that never fired.
QUERIES = {
    "newest": {},
    "action": {"action": "core.local"},
    "status": {"status": "failed"},
    "action+status": {"action": "ops.deploy", "status": "failed"},
    "action+status, none": {"action": "core.noop", "status": "failed"},
    "rule": {"rule": "ops.on_alert"},
    "rare action": {"action": "ops.rare"},
    "rare rule": {"rule": "ops.rare_rule"},
    "unseen trigger": {"trigger": "ops.unseen"},
}
SEED = """
INSERT INTO attune.execution (action_ref, status, result, rule_ref, created, started_at, ended_at)
SELECT
    (ARRAY['core.noop', 'core.local', 'core.http', 'ops.deploy'])[1 + n % 4],
    (CASE WHEN n % 10 = 3 THEN 'failed' ELSE 'completed' END)::attune.execution_status,
    jsonb_build_object('exit_code', n % 10, 'stdout', 'line ' || n, 'duration_seconds', 0.1),
    CASE WHEN n % 3 = 0 THEN 'ops.on_alert' END,
    stamp, stamp, stamp + interval '1 second'
FROM (
    SELECT n, now() - interval '200 days' + (n::float / :rows) * interval '100 days' AS stamp
    FROM generate_series(1, :rows) AS n
) AS rows
"""
SEED_EVENTS = """
WITH events AS (
    INSERT INTO attune.event (trigger_ref, payload, created)
    SELECT 'ops.alert', jsonb_build_object('n', n),
           now() - interval '200 days' + (n::float / :count) * interval '100 days'
    FROM generate_series(1, :count) AS n
    RETURNING id, created
)
INSERT INTO attune.enforcement (rule_ref, event_id, trigger_ref, status, created)
SELECT 'ops.on_alert', id, 'ops.alert', 'processed', created FROM events
"""
SEED_RECENT = """
INSERT INTO attune.execution (action_ref, status, rule_ref, started_at, ended_at)
SELECT (ARRAY['core.noop', 'core.local', 'core.http', 'ops.deploy'])[1 + n % 4],
       (CASE WHEN n % 10 = 3 THEN 'failed' ELSE 'completed' END)::attune.execution_status,
       CASE WHEN n % 3 = 0 THEN 'ops.on_alert' END, now(), now()
FROM generate_series(1, :rows) AS n
"""
SEED_RARE = """
INSERT INTO attune.execution (action_ref, rule_ref, status, created, started_at, ended_at)
SELECT 'ops.rare', 'ops.rare_rule', 'completed', now() - interval '150 days',
       now() - interval '150 days', now() - interval '150 days'
FROM generate_series(1, 50)
"""


async def seed(database_url: str, rows: int) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            began = time.perf_counter()
            # A bulk load: the event stream's triggers (a NOTIFY a row) stay quiet.
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text(SEED), {"rows": rows})
            await connection.execute(text(SEED_EVENTS), {"count": rows // 10})
            await connection.execute(text(SEED_RECENT), {"rows": RECENT})
            await connection.execute(text(SEED_RARE))
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
        print(
            f"seeded {rows:,} old executions, {rows // 10:,} old events and enforcements, "
            f"{RECENT:,} new executions in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
    finally:
        await engine.dispose()


async def time_lists(api: httpx.AsyncClient, label: str, until: asyncio.Task[int] | None) -> None:
    """SAMPLES calls of each query (round robin; while `until` runs, if given)."""
    latencies: dict[str, list[float]] = {name: [] for name in QUERIES}
    began = time.perf_counter()
    rounds = 0
    while rounds < SAMPLES if until is None else not until.done():
        for name, query in QUERIES.items():
            started = time.perf_counter()
            response = await api.get("/executions", params={**query, "limit": 100})
            response.raise_for_status()
            latencies[name].append(time.perf_counter() - started)
        rounds += 1
    elapsed = time.perf_counter() - began
    for name, measured in latencies.items():
        if len(measured) >= 2:
            figures = RunFigures(name, len(measured), elapsed, measured)
            print(
                f"{label}: GET /executions {name}: {len(measured)} calls, "
                f"p50 {figures.percentile(50) * 1000:.1f} ms, "
                f"p95 {figures.percentile(95) * 1000:.1f} ms",
                flush=True,
            )


async def run_purge(environment: dict[str, str]) -> int:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "attune", "purge", "--older-than", "100d", "-o", "json"),
        env=environment,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"attune purge exited {process.returncode}")
    print(f"purged: {stdout.decode().strip()}", flush=True)
    return process.returncode


async def main(rows: int) -> None:
    async with throwaway_database("attune-bench-retention-") as (workdir, database_url):
        settings = Settings(
            data_dir=workdir / "data",
            database_url=database_url,
            temporal_address=f"127.0.0.1:{free_port()}",  # none: listing needs no Temporal
            task_queue=f"bench-{uuid.uuid4()}",
            api_port=free_port(),
            encryption_key=SecretStr(generate_encryption_key()),
        )
        await prepare_database(database_url, settings)
        await seed(database_url, rows)
        await measure(settings)


async def measure(settings: Settings) -> None:
    environment = {
        **os.environ,
        "ATTUNE_DATA_DIR": str(settings.data_dir),
        "ATTUNE_DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": str(settings.temporal_address),
        "ATTUNE_API_PORT": str(settings.api_port),
        "ATTUNE_ENCRYPTION_KEY": str(settings.encryption_key.get_secret_value())
        if settings.encryption_key
        else "",
        "ATTUNE_LOG_LEVEL": "WARNING",
    }
    api_process = api_part(environment)
    try:
        await start_part(api_process)
        token = (settings.data_dir / "admin-token").read_text().strip()
        async with httpx.AsyncClient(
            base_url=f"http://{settings.api_host}:{settings.api_port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as api:
            await wait_for_listing(api)
            await time_lists(api, "idle", None)
            began = time.perf_counter()
            purging = asyncio.create_task(run_purge(environment))
            await time_lists(api, "while purging", purging)
            await purging
            print(f"purge took {time.perf_counter() - began:.1f} s", flush=True)
            await time_lists(api, "after the purge", None)
    finally:
        await stop_parts([[api_process]], within=30)


async def wait_for_listing(api: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if (await api.get("/executions", params={"limit": 1})).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not answer within 60 s")
        await asyncio.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
