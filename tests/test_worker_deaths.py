"""A worker SIGKILLed at the worst moments: an ending it never recorded is recorded by the
next worker, and no process of its actions outlives it (issue 16, findings 7 and 8)."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.ending_recovery import recover_endings
from activities.runners.endings import ending_path
from attune.config import Settings
from db.engine import create_autocommit_session_factory, create_session_factory
from tests.admission import SHELL_ACTION, limited_action
from tests.conftest import TemporalServer, make_worker
from tests.db.factories import unique
from tests.executions import request_run, wait_for_status
from tests.pack_folders import register_pack, write_pack
from tests.polling import until
from tests.worker_processes import worker_process


async def ended_on_a_frozen_worker(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    settings: Settings,
    tmp_path: Path,
    cmd: str,
) -> tuple[int, Path]:
    """Run `cmd` on a worker process that is frozen (SIGSTOP) mid-run, so it cannot record
    the ending, and SIGKILLed once the action's guard has written it; the execution's id
    and the ending file."""
    action = await shell_action(api, tmp_path)
    async with worker_process(settings, temporal, settings.data_dir) as worker:
        execution_id = await request_run(api, action, {"cmd": cmd})
        await wait_for_status(api, execution_id, {"running"})
        # `running` is written when the worker claims the run, a moment before it starts
        # the action's guard: frozen in between, no guard would ever write the ending.
        await until(lambda: guard_started(worker.pid), within=10, what="the action's guard")
        worker.send_signal(signal.SIGSTOP)
        ending = ending_path(settings.data_dir / "endings", execution_id)
        await until(ending.exists, within=10, what="the guard's ending file")
    assert (await api.get(f"/api/v1/executions/{execution_id}")).json()["status"] == "running"
    return execution_id, ending


def guard_started(worker_pid: int) -> bool:
    """Whether the worker has started an action's guard (`action_guard.py`)."""
    try:
        children = psutil.Process(worker_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if any(part.endswith("action_guard.py") for part in child.cmdline()):
                return True
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return False


async def shell_action(api: httpx.AsyncClient, tmp_path: Path) -> str:
    ref = unique("deaths")
    await register_pack(api, write_pack(tmp_path, ref, actions={"sh": SHELL_ACTION}))
    return f"{ref}.sh"


async def test_an_ending_its_worker_never_recorded_is_recorded_after_its_death(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    execution_id, ending = await ended_on_a_frozen_worker(
        api, temporal, settings, tmp_path, "sleep 1; echo out; exit 3"
    )

    # The next worker on this host records it, before Temporal has even retried the run.
    recovered = await recover_endings(
        settings.data_dir / "endings",
        create_autocommit_session_factory(engine),
        create_session_factory(engine),
        temporal.client,
        older_than=timedelta(0),
    )

    assert recovered == [execution_id]
    execution = await wait_for_status(api, execution_id, within=1)
    assert execution["status"] == "failed"
    assert execution["error"] == "exit code 3"
    assert execution["result"]["stdout"] == "out\n"
    assert execution["result"]["exit_code"] == 3
    assert not ending.exists()
    async with make_worker(temporal, engine, settings):  # the workflow ends as recorded
        handle = temporal.client.get_workflow_handle(execution["workflow_id"])
        outcome = await asyncio.wait_for(handle.result(), 30)
    assert outcome["status"] == "failed"
    # What the Web UI shows of it, read back from the row the recovery wrote.
    assert (outcome["summary"]["exit_code"], outcome["summary"]["stdout"]) == (3, "out\n")


async def test_a_garbled_ending_is_left_for_a_person_and_ends_nothing(
    temporal: TemporalServer, engine: AsyncEngine, settings: Settings
) -> None:
    endings = settings.data_dir / "endings"
    endings.mkdir(parents=True)
    garbled = ending_path(endings, 999_999_999)
    garbled.write_text('{"format": 1, "reason": "exited", "exit_code"')  # cut short

    recovered = await recover_endings(
        endings,
        create_autocommit_session_factory(engine),
        create_session_factory(engine),
        temporal.client,
        older_than=timedelta(0),
    )

    assert recovered == []
    assert garbled.exists()


async def test_a_retried_run_records_the_ending_its_lost_worker_left(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    execution_id, _ = await ended_on_a_frozen_worker(
        api, temporal, settings, tmp_path, "sleep 1; echo out"
    )

    # No recovery pass here: Temporal retries the silent run, and that attempt finds it.
    async with make_worker(temporal, engine, settings):
        execution = await wait_for_status(api, execution_id, within=30)
        handle = temporal.client.get_workflow_handle(execution["workflow_id"])
        outcome = await asyncio.wait_for(handle.result(), 30)

    assert execution["status"] == "completed", execution
    assert execution["result"]["stdout"] == "out\n"
    assert outcome["summary"]["stdout"] == "out\n"


# A background shell ticking into $TICKS and a setsid'd one sleeping, each writing its pid.
TICKER = (
    'sh -c \'echo $$ >> "$TICKS.pid"; '
    'while true; do date +%s.%N >> "$TICKS"; sleep 0.05; done\' & '
    "setsid sh -c 'echo $$ >> \"$TICKS.pid\"; exec sleep 600' & "
    "sleep 600"
)


async def test_every_process_of_a_limited_action_dies_with_its_worker_before_the_next_runs(
    api: httpx.AsyncClient,
    temporal: TemporalServer,
    engine: AsyncEngine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    action = await limited_action(api, tmp_path, limit=1, action=SHELL_ACTION)
    ticks = tmp_path / "ticks"
    async with worker_process(settings, temporal, tmp_path / "worker"):  # SIGKILLed at the end
        first = await request_run(api, action, {"cmd": f"export TICKS={ticks}; {TICKER}"})
        second = await request_run(api, action, {"cmd": "true"})
        await wait_for_status(api, first, {"running"})
        await until(
            lambda: (
                ticks.with_suffix(".pid").exists()
                and len(ticks.with_suffix(".pid").read_text().split()) == 2
                and ticks.exists()
            ),
            within=10,
            what="the subshells",
        )
    killed_at = time.time()
    pids = [int(pid) for pid in ticks.with_suffix(".pid").read_text().split()]

    await until(
        lambda: not any(_running(pid) for pid in pids), within=2, what="every subshell gone"
    )

    async with make_worker(temporal, engine, settings):
        assert (await wait_for_status(api, first, within=30))["status"] == "abandoned"
        after = await wait_for_status(api, second, within=30)
    assert after["status"] == "completed"
    last_tick = float(ticks.read_text().split()[-1])
    assert last_tick < killed_at + 2
    started = datetime.fromisoformat(after["started_at"]).astimezone(UTC).timestamp()
    assert last_tick < started, "the limited action's next run started while the old one ticked"


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
