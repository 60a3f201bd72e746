"""An execution's live output in the terminal: `attune execution tail`, and what `attune run
--watch` shows while it waits. stdout goes to stdout and stderr to stderr, unless the
command's own stdout is for a script (`-o json`): then both go to stderr."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from attune.cli_support import cli_settings, errors, run_checked
from attune.config import Settings


def write_piece(stream: str, text: str, *, stdout_free: bool) -> None:
    """One piece of output, as the action wrote it."""
    target = sys.stdout if stream == "stdout" and stdout_free else sys.stderr
    target.write(text)
    target.flush()


class OutputFollower:
    """Prints what is new in an execution's output at each `poll`."""

    def __init__(self, settings: Settings, execution_id: int, *, stdout_free: bool) -> None:
        self.settings = settings
        self.execution_id = execution_id
        self.stdout_free = stdout_free
        self.after = 0
        self.shown = False

    def poll(self) -> None:
        from attune.api_client import call_api

        while True:
            path = f"/executions/{self.execution_id}/output?after={self.after}"
            page = call_api(self.settings, "GET", path)
            for piece in page["items"]:
                write_piece(piece["stream"], piece["text"], stdout_free=self.stdout_free)
                self.shown = True
            self.after = page["next_after"]
            if not page["items"] or page["ended"]:
                return


def tail(
    id: Annotated[int, typer.Argument(min=1, help="The execution's id.")],
    after: Annotated[
        int, typer.Option(min=0, help="Start after this piece (0: from the beginning).")
    ] = 0,
) -> None:
    """Print an execution's output as it is written, until it ends; exit 0 only if it
    completed. stdout and stderr go where the action wrote them."""
    from attune.api_client import stream_events

    settings = cli_settings()
    status = "unknown"

    def step() -> None:
        nonlocal status
        for event in stream_events(settings, f"/executions/{id}/output/stream?after={after}"):
            if not event.data:
                continue  # a keep-alive
            data: dict[str, Any] = json.loads(event.data)
            if event.event == "output":
                write_piece(data["stream"], data["text"], stdout_free=True)
            elif event.event == "end":
                status = str(data["status"])

    run_checked(step)
    errors.print(f"execution {id}: {status}")
    raise typer.Exit(code=0 if status == "completed" else 1)
