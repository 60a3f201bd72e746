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

Artifacts: `await attach_artifact(ref, text=..., name="report.md")` attaches a text file
(at most 256 KiB, since it passes through the workflow's encrypted history),
`await attach_artifact(ref, url="https://...")` a link, and `await progress(50, "half")`
shows how far along the workflow is. Actions have `attune.sdk.artifact` for files of any
size.

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
    "attach_artifact",
    "progress",
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


async def attach_artifact(
    ref: str,
    *,
    text: str | None = None,
    name: str | None = None,
    url: str | None = None,
    title: str = "",
    data: Any = None,
    type: str | None = None,
) -> int:
    """Attach an artifact to this workflow's execution; its id.

    Give `text` (a text file named `name`, its type from the name unless `type` says),
    `url` (a link, with `title`), or `data` (any JSON, type `other`). Attaching the same
    text under the same ref and name again returns the artifact made the first time.
    Raises `ValueError` naming what was refused (too large, a bad url).
    """
    given = [part for part in (text, url, data) if part is not None]
    if len(given) != 1:
        raise ValueError("attach_artifact takes one of text, url or data")
    if text is not None:
        # "": the worker takes the type from the name (mimetypes reads files: not here).
        return await pack_runtime.attach_artifact(ref, type or "", name=name, text=text)
    if url is not None:
        return await pack_runtime.attach_artifact(ref, "url", data={"url": url, "title": title})
    return await pack_runtime.attach_artifact(ref, type or "other", data=data)


async def progress(percent: float, message: str = "", *, ref: str = "workflow/progress") -> int:
    """Show how far along this workflow is (0 to 100): the first call for `ref` creates
    its progress artifact, the next ones update it. Its id."""
    return await pack_runtime.attach_artifact(
        ref, "progress", data={"percent": percent, "message": message}
    )
