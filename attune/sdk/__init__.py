"""What a pack's workflow code imports: `from attune.sdk import run_action, ask, sleep`.

A workflow is an action (`runner_type: python-workflow`) whose entry point names a plain
class with `async def run(self, **parameters)`; its JSON return value is the execution's
result, an exception it raises ends the execution `failed` with the exception's message.
Inside `run`, these calls are durable: each is recorded by Temporal, so a workflow waiting
on a child, a person or a timer survives the loss of any process and carries on where it
was. Plain `asyncio.gather` / `asyncio.wait` over them run things in parallel.

The code runs in Temporal's workflow sandbox and must be deterministic: no clock
(`time.time()`, `datetime.now()`), no `random`, no files or network. Those are refused
(the execution fails, naming the call); do such work in an action and `run_action` it.

Secret parameters reach `run` as references (`attune-secret://...`), which can be passed
on to a child's parameter marked `secret: true` but not read: read secrets in actions.

Nothing here may be renamed; more may be added.
"""

from __future__ import annotations

from typing import Any

from attune.sdk.sensors import DispatchRefused, PollingSensor
from workflows import pack_runtime
from workflows.pack_errors import ActionFailed, InquiryTimedOut, NotInAWorkflow

__all__ = [
    "ActionFailed",
    "DispatchRefused",
    "InquiryTimedOut",
    "NotInAWorkflow",
    "PollingSensor",
    "ask",
    "run_action",
    "sleep",
]


async def run_action(ref: str, parameters: dict[str, Any] | None = None) -> Any:
    """Run the action `ref` as a child execution and return its `result`.

    The child is an execution of its own (its row names this one as `parent_id`), run as a
    child workflow, with its action's policies: a FIFO-limited child waits its turn.
    Parameters are checked against the action's schema before anything runs. A child that
    does not complete (failed, timeout, cancelled, abandoned), or is refused, raises
    `ActionFailed` with its `execution_id`, `status`, `result` and `error`.
    """
    return await pack_runtime.run_action(ref, parameters)


async def ask(
    prompt: str,
    *,
    schema: dict[str, Any] | None = None,
    assignees: list[str] | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """Ask a person and wait for the answer, exactly as `core.ask` does.

    `schema` is the JSON Schema the answer must fit (default: any object), `assignees` the
    logins who may answer (default: anyone), `ttl` the seconds to wait (default one day).
    Returns the answer; raises `InquiryTimedOut` when nobody answered in time, and
    `ValueError` naming a bad argument.
    """
    return await pack_runtime.ask(prompt, schema=schema, assignees=assignees, ttl=ttl)


async def sleep(seconds: float) -> None:
    """Wait `seconds`: a durable timer, which holds no worker while it runs."""
    await pack_runtime.sleep(seconds)
