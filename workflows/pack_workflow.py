"""`attune.PackWorkflow`: a python-workflow action's class, run as a durable workflow.

Started with id `execution-<id>` like every execution, it waits for admission when the
action's policy says so, marks the row running, imports the class from the code version
the execution started with (`workflows.pack_code`), calls `run(**parameters)` and records
the return value as the result. The class is the pack author's: it runs in Temporal's
sandbox, and whatever goes wrong in it ends the execution, never a workflow task retried
forever. An exception is `failed` with its message (a sandbox refusal names the call:
`time.time`, `open`, ...); the action's timeout bounds the whole run (`timeout`, children
cancelled); a cancel reaches every child and inquiry, then ends it `cancelled`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # Every module whose dataclasses cross this workflow's boundary is imported here, so
    # the sandbox knows it: their type hints are resolved against it when decoding.
    from activities.execution_types import ExecutionInput, ExecutionOutcome, WorkflowCodeRef
    from activities.inquiry_types import OpenedInquiry  # noqa: F401
    from activities.pack_workflow_types import BeginWorkflowInput, BegunWorkflow
    from activities.pack_workflow_types import FinishWorkflowInput as Finish
    from attune.inquiries import InquiryAnswer  # noqa: F401
    from attune.json_limits import json_problem
    from workflows import pack_runtime, search_attributes
    from workflows.admission import ADMITTED_SIGNAL, Admission
    from workflows.ids import PACK_WORKFLOW
    from workflows.inquiries import BOOKKEEPING_TIMEOUT
    from workflows.pack_code import PackCodeUnavailable, package_for
    from workflows.pack_errors import ActionFailed

MAX_RESULT_BYTES = 1_048_576
"""The largest return value a workflow may record as its result, as JSON."""
CANCELLED_BY_REQUEST = "cancelled by request"


# A replay that finds the code non-deterministic fails the workflow rather than retrying
# its task forever; the reconciler then ends the row (`attune.engine.closed_workflows`).
@workflow.defn(name=PACK_WORKFLOW, failure_exception_types=[workflow.NondeterminismError])
class PackWorkflow:
    def __init__(self) -> None:
        self._admission = Admission()
        # Read by `attune.sdk` through `workflow.instance()`; set once the run has begun.
        self.pack_context: pack_runtime.PackContext | None = None

    @workflow.signal(name=ADMITTED_SIGNAL)
    def admitted(self) -> None:
        """The execution's admission slot has been granted: it may run."""
        self._admission.grant()

    @workflow.run
    async def run(self, input: ExecutionInput) -> ExecutionOutcome:
        queued = input.admission_queued
        try:
            if not input.admitted:
                await self._admission.wait(input)
            _show_status("running")
            begun: BegunWorkflow = await workflow.execute_activity(
                "attune.begin_pack_workflow",
                BeginWorkflowInput(input.execution_id, admission_queued=queued),
                result_type=BegunWorkflow,
                start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                summary=f"begin execution {input.execution_id}",
            )
            if begun.outcome is not None:
                _show_status(begun.outcome.status)
                return begun.outcome
            self.pack_context = pack_runtime.PackContext(input.execution_id)
            try:
                ending = await _run_code(input, begun.parameters or {})
            finally:
                await self.pack_context.settle()
        except asyncio.CancelledError:
            await self._finish(input, "cancelled", error=CANCELLED_BY_REQUEST)
            raise
        outcome = await self._finish(input, *ending)
        # An answer's Update returns its result before the workflow may close.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def _finish(
        self, input: ExecutionInput, status: str, result: Any = None, error: str | None = None
    ) -> ExecutionOutcome:
        outcome = await pack_runtime.finish(
            Finish(input.execution_id, status, result, error, input.admission_queued)
        )
        _show_status(outcome.status)
        return outcome


async def _run_code(input: ExecutionInput, parameters: dict[str, Any]) -> tuple[str, Any, Any]:
    """(status, result, error) of running the pack's class: whatever the code does, an ending."""
    assert input.code is not None, "a pack workflow runs a version of its pack's code"
    limit: asyncio.Timeout | None = None
    try:
        instance = _load(input.code)()
        async with asyncio.timeout(input.timeout_seconds) as limit:  # None: no limit
            result = await instance.run(**parameters)
    except (asyncio.CancelledError, PackCodeUnavailable):
        raise  # a cancel goes on up; code not fetched yet: the workflow task is tried again
    except BaseException as error:
        if _is_temporals(error):
            raise  # the SDK's own signals (eviction from the cache, say) are not the code's
        if isinstance(error, TimeoutError) and limit is not None and limit.expired():
            return "timeout", None, f"the workflow ran out of its {input.timeout_seconds:g} s"
        if isinstance(error, ActionFailed):
            return "failed", None, f"uncaught ActionFailed: {_describe(error, named=False)}"
        return "failed", None, _describe(error)
    return _as_result(result)


def _is_temporals(error: BaseException) -> bool:
    """The SDK's own signals through the code (eviction, deadlock interruption). Not
    `continue_as_new`: it would restart this workflow with whatever input the code chose."""
    if isinstance(error, workflow.ContinueAsNewError):
        return False
    return not isinstance(error, Exception) and type(error).__module__.startswith("temporalio")


def _describe(error: BaseException, *, named: bool = True) -> str:
    """The error as its message says it, even when its own `__str__` is broken."""
    try:
        text = str(error)
    except Exception:
        text = "(its message could not be read)"
    return f"{type(error).__name__}: {text}" if named else text


def _load(code: WorkflowCodeRef) -> Any:
    """The class the execution runs, from its version of the code."""
    name = f"{package_for(code.digest)}.{code.module}"
    # The import happens while the workflow runs, on purpose: it is the pack's code.
    policy = workflow.SandboxImportNotificationPolicy.SILENT
    with workflow.unsafe.sandbox_import_notification_policy(policy):
        module = __import__(name, fromlist=["_"])
    return getattr(module, code.attribute)


def _as_result(result: Any) -> tuple[str, Any, Any]:
    """The return value as the execution's result, if PostgreSQL and a later read can take it."""
    problem = json_problem(result, field="result")
    if problem is not None:
        where, why = problem
        return "failed", None, f"the workflow's return value cannot be kept: {where} {why}"
    try:
        size = len(json.dumps(result, allow_nan=False))
    except (TypeError, ValueError) as error:
        return "failed", None, f"the workflow's return value is not JSON: {error}"
    if size > MAX_RESULT_BYTES:
        return (
            "failed",
            None,
            f"the workflow returned {size} bytes of JSON, more than the {MAX_RESULT_BYTES} "
            "an execution's result may hold",
        )
    return "completed", result, None


def _show_status(status: str) -> None:
    workflow.upsert_search_attributes([search_attributes.STATUS.value_set(status)])
