"""An action's output passed on while it runs: whole lines, in order, capped as the result,
and never a reason for the run to fail."""

from __future__ import annotations

import dataclasses
import time

from activities.runners import RunStatus, run_action
from tests.activities.runners.support import make_request


class Received:
    """An `on_output` that keeps what it got, and when."""

    def __init__(self, fail: bool = False) -> None:
        self.pieces: list[tuple[float, str, str]] = []
        self.fail = fail

    async def __call__(self, stream: str, text: str) -> None:
        if self.fail:
            raise ConnectionError("the database is down")
        self.pieces.append((time.monotonic(), stream, text))

    def text(self, stream: str) -> str:
        return "".join(text for _, of, text in self.pieces if of == stream)


async def test_lines_arrive_while_the_action_runs_and_the_rest_at_its_end() -> None:
    received = Received()
    command = "echo one; sleep 1.5; echo two >&2; printf 'no newline'"
    request = dataclasses.replace(
        make_request("local-shell-cmd", {"cmd": command}), on_output=received
    )

    output = await run_action(request)
    ended = time.monotonic()

    assert output.status is RunStatus.COMPLETED
    assert received.text("stdout") == "one\nno newline" == output.stdout
    assert received.text("stderr") == "two\n" == output.stderr
    first_seen, stream, text = received.pieces[0]
    assert (stream, text) == ("stdout", "one\n")
    assert ended - first_seen > 0.6  # seen while the sleep went on, not at its end
    # Whole lines only, until the end: the unfinished one came last, alone.
    assert [text for _, of, text in received.pieces if of == "stdout"] == ["one\n", "no newline"]


async def test_live_output_is_capped_as_the_result_is() -> None:
    received = Received()
    command = "head -c 5000 /dev/zero | tr '\\0' 'x'; echo"
    request = dataclasses.replace(
        make_request("local-shell-cmd", {"cmd": command}, output_limit_bytes=1024),
        on_output=received,
    )

    output = await run_action(request)

    assert output.stdout_truncated
    assert received.text("stdout") == output.stdout == "x" * 1024


async def test_output_that_cannot_be_passed_on_does_not_fail_the_run() -> None:
    request = dataclasses.replace(
        make_request("local-shell-cmd", {"cmd": "echo fine"}), on_output=Received(fail=True)
    )

    output = await run_action(request)

    assert (output.status, output.stdout) == (RunStatus.COMPLETED, "fine\n")
