"""What `attune.sdk`'s calls do inside a pack workflow: children, inquiries, timers.

Every call finds its workflow through `workflow.instance()` (an `attune.PackWorkflow`),
which numbers the calls in the order they are made: replaying the same code makes the
same calls in the same order, so a step number names one call across retries and
workers, and the activities key their rows by it.

This module is passed through Temporal's sandbox (one copy per worker, shared by all
workflows), so it keeps no state of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import (
    ChildWorkflowCancellationType,
    ChildWorkflowHandle,
    ParentClosePolicy,
)

with workflow.unsafe.imports_passed_through():
    from activities.execution_types import ExecutionOutcome
    from activities.pack_workflow_types import (
        WORKFLOW_ARTIFACT_MAX_BYTES,
        AttachedArtifact,
        ChildEnding,
        ChildRequest,
        ChildRequested,
        ChildStarted,
        FinishWorkflowInput,
        WorkflowArtifact,
        WorkflowAsk,
        WorkflowAsked,
    )
    from workflows import search_attributes
    from workflows.ids import workflow_id_for
    from workflows.inquiries import BOOKKEEPING_TIMEOUT, TIMEOUT
    from workflows.inquiries import ask as wait_for_answer
    from workflows.pack_errors import ActionFailed, InquiryTimedOut, NotInAWorkflow

T = TypeVar("T")

# Bookkeeping activities write a row or two and are idempotent: retried until they work.
BOOKKEEPING_RETRIES = RetryPolicy(maximum_attempts=0)


@dataclass
class PackContext:
    """What a pack workflow's calls share: whose they are, how many were made, and the
    children and inquiries still under way."""

    execution_id: int
    steps: int = 0
    # In the order they began (a dict keeps it; a set's order changes between processes,
    # and settling must cancel them in the same order on every replay).
    operations: dict[asyncio.Task[Any], None] = field(default_factory=dict)

    def next_step(self) -> int:
        self.steps += 1
        return self.steps

    async def track(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run a child or an inquiry as a task of its own, known until it ends."""
        task = asyncio.ensure_future(operation)
        self.operations[task] = None
        task.add_done_callback(lambda done: self.operations.pop(done, None))
        return await task

    async def settle(self) -> None:
        """Cancel what is still under way and wait for it to end: a workflow's children and
        inquiries never outlive it (`asyncio.gather` lets the others run on when one fails,
        and code may leave a call un-awaited)."""
        left = list(self.operations)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)


def current_context() -> PackContext:
    """The running pack workflow's context; `NotInAWorkflow` outside one."""
    try:
        instance = workflow.instance()
    except Exception:  # not in a workflow at all
        instance = None
    context = getattr(instance, "pack_context", None)
    if not isinstance(context, PackContext):
        raise NotInAWorkflow(
            "attune.sdk's run_action, ask and sleep work only inside a workflow action's run"
        )
    return context


async def run_action(ref: str, parameters: dict[str, Any] | None = None) -> Any:
    """Run `ref` as a child execution and return its result; `ActionFailed` otherwise."""
    context = current_context()
    return await context.track(_run_action(context, ref, parameters))


async def _run_action(context: PackContext, ref: str, parameters: dict[str, Any] | None) -> Any:
    request = ChildRequest(context.execution_id, context.next_step(), ref, dict(parameters or {}))
    try:
        requested = await _bookkeeping("attune.request_child_execution", request, ChildRequested)
        if requested.refused is not None or requested.execution_id is None:
            raise ActionFailed(None, "failed", None, requested.refused)
        handle = await _start_child(requested)
    except asyncio.CancelledError:
        # The row may exist, queued for a slot, with no workflow to ever take it: end it.
        await _bookkeeping("attune.abandon_child", request, None)
        raise
    child_id = requested.execution_id
    assert child_id is not None
    try:
        await _bookkeeping("attune.child_started", ChildStarted(child_id), None)
        # Cancelled, terminated or failed in Temporal: the row says how it ended either way.
        with contextlib.suppress(ChildWorkflowError):
            await handle
    except asyncio.CancelledError:
        # Cancelled before the child's end: pass the cancel on to it (the handle is a task),
        # and go on up only once it has ended, its processes gone.
        handle.cancel()
        with contextlib.suppress(ChildWorkflowError, asyncio.CancelledError):
            await handle
        raise
    if _being_cancelled():
        # This workflow is being cancelled (or timed out) and the child ended with it: the
        # cancel goes on up, not an ActionFailed the code might catch.
        raise asyncio.CancelledError
    ending = await _bookkeeping("attune.child_ending", ChildStarted(child_id), ChildEnding)
    if ending.status != "completed":
        raise ActionFailed(child_id, ending.status, ending.result, ending.error)
    return ending.result


async def _start_child(requested: ChildRequested) -> ChildWorkflowHandle[Any, Any]:
    assert requested.execution_id is not None
    assert requested.attributes is not None
    attributes = requested.attributes
    return await workflow.start_child_workflow(
        requested.workflow,
        requested.input,
        id=workflow_id_for(requested.execution_id),
        result_type=ExecutionOutcome,
        # A cancel of the parent reaches the child, whose processes die before it ends.
        cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        execution_timeout=requested.input.workflow_time_limit() if requested.input else None,
        search_attributes=search_attributes.for_execution(
            requested.execution_id,
            attributes.action_ref,
            parent_id=attributes.parent_id,
            queued=attributes.queued,
        ),
        static_summary=requested.summary,
    )


async def ask(
    prompt: str,
    *,
    schema: dict[str, Any] | None = None,
    assignees: list[str] | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """Ask a person, as `core.ask` does; the answer, or `InquiryTimedOut`."""
    context = current_context()
    return await context.track(_ask(context, prompt, schema, assignees, ttl))


async def _ask(
    context: PackContext,
    prompt: str,
    schema: dict[str, Any] | None,
    assignees: list[str] | None,
    ttl: int | None,
) -> dict[str, Any]:
    request = WorkflowAsk(context.execution_id, context.next_step(), prompt, schema, assignees, ttl)
    asked = await _bookkeeping("attune.open_workflow_inquiry", request, WorkflowAsked)
    if asked.inquiry is None:
        raise ValueError(asked.refused or "the inquiry was refused")
    ending = await wait_for_answer(asked.inquiry)
    if ending.status == TIMEOUT or ending.response is None:
        raise InquiryTimedOut(ending.inquiry_id)
    return ending.response


async def sleep(seconds: float) -> None:
    """A durable timer: the workflow waits, holding nothing, surviving any restart."""
    current_context()
    await workflow.sleep(seconds, summary=f"sleep {seconds:g} s")


async def attach_artifact(
    ref: str,
    artifact_type: str,
    *,
    name: str | None = None,
    text: str | None = None,
    data: Any = None,
) -> int:
    """Have the worker write an artifact of this execution; its id, or `ValueError`."""
    context = current_context()
    if text is not None and len(text.encode("utf-8")) > WORKFLOW_ARTIFACT_MAX_BYTES:
        raise ValueError(
            f"an artifact a workflow attaches holds at most {WORKFLOW_ARTIFACT_MAX_BYTES:,} "
            "bytes (it passes through the workflow's history): write larger ones in an action"
        )
    request = WorkflowArtifact(context.execution_id, ref, artifact_type, name, text, data)
    attached = await _bookkeeping("attune.attach_artifact", request, AttachedArtifact)
    if attached.artifact_id is None:
        raise ValueError(attached.refused or "the artifact was refused")
    artifact_id: int = attached.artifact_id
    return artifact_id


async def finish(input: FinishWorkflowInput) -> ExecutionOutcome:
    """Record how the workflow ended (its own row)."""
    outcome: ExecutionOutcome = await _bookkeeping(
        "attune.finish_pack_workflow", input, ExecutionOutcome
    )
    return outcome


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _bookkeeping(name: str, argument: Any, result_type: type | None) -> Any:
    return await workflow.execute_activity(
        name,
        argument,
        result_type=result_type,
        start_to_close_timeout=BOOKKEEPING_TIMEOUT,
        retry_policy=BOOKKEEPING_RETRIES,
        summary=name.removeprefix("attune."),
    )
