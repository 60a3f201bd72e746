"""Pack workflow histories: replayed as they are made, and kept to be replayed later.

A live replay proves today's code replays the histories today's code makes. What it
cannot prove is that a later change to `attune.PackWorkflow` or `workflows.pack_runtime`
still replays the histories of runs in flight when a worker is upgraded: that takes
histories recorded before the change. `make histories` (ATTUNE_RECORD_HISTORIES=1) keeps
each path's history under tests/histories/, with the pack code it ran, and
`test_recorded_histories.py` replays every kept one on the code of the day.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from attune.worker import PACK_SANDBOX
from tests.conftest import TEST_DATA_CONVERTER
from workflows.execution import ExecutionWorkflow
from workflows.pack_code import pack_code_finder
from workflows.pack_workflow import PackWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORDING = os.environ.get("ATTUNE_RECORD_HISTORIES") == "1"
REPLAY_SECONDS = 30


async def assert_replays(handle: WorkflowHandle[Any, Any], *, path: str) -> None:
    """The pack workflow's real history replays on today's code, in the same sandbox; kept
    as tests/histories/`path`.json when recording."""
    history = await handle.fetch_history()
    await replay(history)
    if RECORDING:
        digest = code_digest_of(history)
        kept = {
            "path": path,
            "code": {"digest": digest, "files": pack_code_finder().held(digest)},
            "history": history.to_json_dict(),
        }
        (HISTORIES / f"{path}.json").write_text(json.dumps(kept, indent=1, sort_keys=True))


async def replay(history: WorkflowHistory) -> None:
    """Replay the history on today's code; AssertionError naming the failure if it fails.

    The SDK's replayer does not shut down after a failed replay (its bridge worker is still
    referenced, and `replay_workflow` waits for ever): so the failure is taken from the
    results as they come, and the replay abandoned once it is known.
    """
    replayer = Replayer(
        workflows=[PackWorkflow, ExecutionWorkflow],
        workflow_runner=PACK_SANDBOX,
        data_converter=TEST_DATA_CONVERTER,
    )
    failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    async def histories() -> AsyncIterator[WorkflowHistory]:
        yield history

    async def run() -> None:
        async with replayer.workflow_replay_iterator(histories()) as results:
            async for result in results:
                if result.replay_failure is not None and not failed.done():
                    failed.set_result(result.replay_failure)

    replaying = asyncio.ensure_future(run())
    either: list[asyncio.Future[Any]] = [replaying, failed]
    await asyncio.wait(either, timeout=REPLAY_SECONDS, return_when="FIRST_COMPLETED")
    if failed.done():
        replaying.cancel()
        failure = failed.result()
        raise AssertionError(f"{history.workflow_id} does not replay: {failure}") from failure
    if not replaying.done():
        replaying.cancel()
        raise AssertionError(f"{history.workflow_id} did not replay within {REPLAY_SECONDS} s")
    replaying.result()


def code_digest_of(history: WorkflowHistory) -> str:
    """The digest of the pack code the run started on, from its start event's input."""
    started = history.events[0].workflow_execution_started_event_attributes
    execution_input = json.loads(started.input.payloads[0].data)
    digest: str = execution_input["code"]["digest"]
    return digest


def kept_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def load_kept(path: Path) -> tuple[WorkflowHistory, str, dict[str, str]]:
    """A kept history, and the digest and files of the code it ran."""
    kept = json.loads(path.read_text())
    history = WorkflowHistory.from_json(f"recorded-{kept['path']}", kept["history"])
    return history, kept["code"]["digest"], kept["code"]["files"]
