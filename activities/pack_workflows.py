"""The activities of `attune.PackWorkflow`: its own row, its children's rows, its inquiries.

Each may be retried (a worker lost, a reply lost), so each is idempotent: a child row or
an inquiry is keyed by its parent and the step of the workflow that asked for it, and a
second attempt finds what the first wrote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.ask_parameters import read_ask_parameters
from activities.execution_types import ExecutionOutcome
from activities.inquiries import opened_inquiry
from activities.pack_workflow_checks import bounded_result, check_caller, check_nesting
from activities.pack_workflow_types import (
    BeginWorkflowInput,
    BegunWorkflow,
    ChildEnding,
    ChildRequest,
    ChildRequested,
    ChildSearchAttributes,
    ChildStarted,
    FinishWorkflowInput,
    WorkflowAsk,
    WorkflowAsked,
)
from activities.run_endings import record_ending
from activities.run_messages import CANCELLED_BEFORE_RUN
from attune import errors
from attune.engine import secret_references
from attune.engine.admission import end_execution, signal_admitted
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.engine.secret_parameters import unsealed_parameters
from attune.engine.secret_references import as_references, resolve_references
from attune.engine.workflow_starts import (
    PendingStart,
    WorkflowStarter,
    pending_starts_for,
    summary_of,
    workflow_type_for,
)
from attune.packs.parameters import secret_parameters
from db.models import Execution, ExecutionStatus
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import action as actions
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries


class PackWorkflowActivities:
    """`transactions` are ordinary sessions, `autocommit` ones where each write is one
    statement (as `ExecutionActivities` takes them); `starter` says how children start."""

    def __init__(
        self,
        transactions: async_sessionmaker[AsyncSession],
        starter: WorkflowStarter,
        *,
        autocommit: async_sessionmaker[AsyncSession],
        encryption_key: bytes | None = None,
    ) -> None:
        self._sessions = transactions
        self._autocommit = autocommit
        self._starter = starter
        self._key = encryption_key

    @activity.defn(name="attune.begin_pack_workflow")
    async def begin(self, input: BeginWorkflowInput) -> BegunWorkflow:
        """Mark the execution running and hand its code the parameters, secrets as references."""
        check_caller(input.execution_id)
        info = activity.info()
        async with self._sessions() as session:
            run = await executions.claim_for_run(
                session,
                id=input.execution_id,
                workflow_id=info.workflow_id or "",
                scheduled_at=info.scheduled_time,
            )
            await session.commit()
            if run is not None:
                schema, parameters = run.parameters_schema, run.parameters
            else:
                row = await executions.repository.get(session, id=input.execution_id)
                if row.status is ExecutionStatus.CANCELING:
                    outcome = await self._finish_before_begin(input)
                    return BegunWorkflow(outcome=outcome)
                if row.status is not ExecutionStatus.RUNNING:
                    ended = ExecutionOutcome(row.id, row.status.value, row.error)
                    return BegunWorkflow(outcome=ended)
                # Running already: this is a retry of the attempt that claimed it.
                action = await actions.repository.find(session, id=row.action_id or 0)
                schema, parameters = (action.parameters if action else {}), row.parameters
        secrets = secret_parameters(schema) & parameters.keys()
        return BegunWorkflow(parameters=as_references(input.execution_id, parameters, secrets))

    @activity.defn(name="attune.finish_pack_workflow")
    async def finish(self, input: FinishWorkflowInput) -> ExecutionOutcome:
        """Record how the workflow ended, giving back its admission slot if it held one."""
        check_caller(input.execution_id)
        return await record_ending(
            self._autocommit,
            self._sessions,
            input.execution_id,
            ExecutionStatus(input.status),
            result=input.result,
            error=input.error,
            queued=input.admission_queued,
        )

    @activity.defn(name="attune.request_child_execution")
    async def request_child(self, input: ChildRequest) -> ChildRequested:
        """Write the child's row (validated, queued by its policy), or find it again."""
        check_caller(input.parent_id)
        async with self._sessions() as session:
            existing = await self._child_of(session, input)
            if existing is not None:
                return await self._requested(session, existing)
            try:
                pending = await self._new_child(session, input)
                await session.commit()
            except errors.Conflict as conflict:
                await session.rollback()
                existing = await self._child_of(session, input)  # a concurrent attempt won
                if existing is None:
                    return ChildRequested(refused=conflict.message)
                return await self._requested(session, existing)
            except errors.ServiceUnavailable:
                raise  # no key on this worker, say: retried, perhaps on another
            except (errors.AttuneError, ValueError) as refusal:
                await session.rollback()
                message = (
                    refusal.message if isinstance(refusal, errors.AttuneError) else str(refusal)
                )
                return ChildRequested(refused=f"cannot run {input.action_ref}: {message}")
        return _child_start(self._starter, pending)

    @activity.defn(name="attune.child_started")
    async def child_started(self, input: ChildStarted) -> None:
        """The child's workflow exists: `scheduled`, and signalled if granted meanwhile."""
        async with self._sessions() as session:
            await self._own_child(session, input.execution_id)
            admitted = await executions.mark_scheduled(session, ids=[input.execution_id])
            await session.commit()
        await signal_admitted(activity.client(), admitted)

    @activity.defn(name="attune.child_ending")
    async def child_ending(self, input: ChildStarted) -> ChildEnding:
        """How the child ended, its result as the API shows it (bounded for history).

        A child whose workflow closed without ending its row (terminated, say) is ended
        `abandoned` here, its slot given back: the parent never sees it still running.
        """
        async with self._sessions() as session:
            row = await self._own_child(session, input.execution_id)
            if row.status not in TERMINAL_EXECUTION_STATUSES:
                await end_execution(
                    session,
                    activity.client(),
                    id=row.id,
                    status=ExecutionStatus.ABANDONED,
                    error="its workflow closed without ending it (terminated?)",
                )
                row = await executions.repository.get(session, id=row.id)
        return ChildEnding(row.id, row.status.value, bounded_result(row.result), row.error)

    @activity.defn(name="attune.abandon_child")
    async def abandon_child(self, input: ChildRequest) -> None:
        """A child requested but never started (the parent was cancelled meanwhile): end it
        `cancelled`, so it holds no admission slot; a child whose workflow did start ends
        itself."""
        check_caller(input.parent_id)
        async with self._sessions() as session:
            row = await self._child_of(session, input)
            if row is not None and row.status is ExecutionStatus.REQUESTED:
                await end_execution(
                    session,
                    activity.client(),
                    id=row.id,
                    status=ExecutionStatus.CANCELLED,
                    error="its workflow was cancelled before starting it",
                )

    @activity.defn(name="attune.open_workflow_inquiry")
    async def open_inquiry(self, input: WorkflowAsk) -> WorkflowAsked:
        """Write the workflow's inquiry (pending), or find the one this step wrote before."""
        check_caller(input.execution_id)
        given: dict[str, Any] = {"prompt": input.prompt}
        for name in ("schema", "assignees", "ttl"):
            if getattr(input, name) is not None:
                given[name] = getattr(input, name)
        try:
            asked = read_ask_parameters(given)
        except errors.ValidationError as refusal:
            return WorkflowAsked(refused=refusal.message)
        async with self._sessions() as session:
            earlier = await inquiries.repository.find_first(
                session, execution_id=input.execution_id, workflow_step=input.step
            )
            if earlier is not None:
                return WorkflowAsked(inquiry=opened_inquiry(earlier))
            inquiry = await inquiries.repository.create(
                session,
                execution_id=input.execution_id,
                workflow_step=input.step,
                prompt=asked.prompt,
                response_schema=asked.schema,
                assignees=asked.assignees,
                timeout_at=datetime.now(UTC) + timedelta(seconds=asked.ttl),
            )
            await session.commit()
        return WorkflowAsked(inquiry=opened_inquiry(inquiry))

    async def _finish_before_begin(self, input: BeginWorkflowInput) -> ExecutionOutcome:
        return await record_ending(
            self._autocommit,
            self._sessions,
            input.execution_id,
            ExecutionStatus.CANCELLED,
            error=CANCELLED_BEFORE_RUN,
            queued=input.admission_queued,
        )

    async def _child_of(self, session: AsyncSession, input: ChildRequest) -> Execution | None:
        return await executions.repository.find_first(
            session, parent_id=input.parent_id, parent_step=input.step
        )

    async def _own_child(self, session: AsyncSession, execution_id: int) -> Execution:
        row = await executions.repository.get(session, id=execution_id)
        check_caller(row.parent_id or 0)  # only its parent may ask about a child
        return row

    async def _new_child(self, session: AsyncSession, input: ChildRequest) -> PendingStart:
        action = await find_runnable_action(session, input.action_ref)
        parent = await executions.repository.get(session, id=input.parent_id)
        await check_nesting(session, parent, action)
        # Unsealed only when the workflow hands one of its secrets on.
        referenced = secret_references.PREFIX in json.dumps(input.parameters)
        parent_secrets = (
            unsealed_parameters(self._key, parent.id, {}, parent.secret_parameters)
            if referenced
            else {}
        )
        parameters = resolve_references(
            input.parameters,
            parent_id=parent.id,
            parent_secrets=parent_secrets,
            child_secrets=secret_parameters(action.parameters),
        )
        return await request_execution(
            session,
            action=action,
            parameters=parameters,
            encryption_key=self._key,
            parent_id=parent.id,
            parent_step=input.step,
            executor_id=parent.executor_id,
        )

    async def _requested(self, session: AsyncSession, row: Execution) -> ChildRequested:
        [pending] = await pending_starts_for(session, [row])
        return _child_start(self._starter, pending)


def _child_start(starter: WorkflowStarter, pending: PendingStart) -> ChildRequested:
    execution = pending.execution
    assert execution.parent_id is not None, "a child names its parent"
    return ChildRequested(
        execution_id=execution.id,
        workflow=workflow_type_for(pending.code),
        input=starter.input_for(pending),
        attributes=ChildSearchAttributes(
            execution.id, execution.action_ref, execution.parent_id, pending.waits_for_admission
        ),
        summary=summary_of(execution, pending.code),
    )
