"""Histories recorded by earlier code (`make histories`) replay on today's: a worker
upgraded while pack workflows are in flight carries them on. No servers: the Replayer
runs the workflow code against the history alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflows.histories import kept_histories, load_kept, replay
from workflows.pack_code import pack_code_finder

# Every path the issue asked to be replayed; a missing file fails rather than passing.
PATHS = {
    "children_in_parallel_failure_caught",
    "inquiry_answered",
    "inquiry_timed_out",
    "cancelled_with_children_and_inquiry",
    "timeout_cancels_children",
}


def test_every_path_has_a_kept_history() -> None:
    assert {path.stem for path in kept_histories()} == PATHS


@pytest.mark.parametrize("kept", kept_histories(), ids=lambda path: path.stem)
async def test_a_kept_history_replays_on_todays_code(kept: Path) -> None:
    history, digest, files = load_kept(kept)
    # The run's own version of its pack's code, as a worker would fetch it.
    pack_code_finder().hold(digest, files)

    await replay(history)
