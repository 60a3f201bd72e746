"""Starting the `attune.Execution` workflow of an execution row, exactly once.

Callers start workflows only after the rows commit. A start that fails (Temporal down,
the API killed halfway) leaves the row `requested`, and the reconciler starts it later;
a second start of the same id is refused by Temporal, which is what makes that safe.

The API bounds each start (`start_timeout_seconds`): while Temporal is unreachable the
client retries a start for about ten seconds, which a caller would otherwise wait out.
A start cut short may still reach Temporal; the reconciler then finds it started.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.execution_types import ExecutionInput, ExecutionOutcome, WorkflowCodeRef
from activities.runners.types import PACK_WORKFLOW_RUNNER
from attune.config import Settings
from attune.engine.admission import signal_admitted
from attune.engine.rate_limits import activity_queue_for
from attune.packs.workflow_code import module_name
from db.models import Action, Execution
from db.repositories import action as actions
from db.repositories import execution as executions
from db.repositories import policy as policies
from db.repositories.admission import Ticket
from workflows import search_attributes
from workflows.execution import ExecutionWorkflow, workflow_id_for
from workflows.ids import EXECUTION_WORKFLOW, PACK_WORKFLOW

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingStart:
    """An execution whose workflow is to be started: its action's timeout and runner, and
    what its action's policy decided.

    `ticket` is its place in the action's admission queue (None: the action has no
    concurrency limit); `rate_limited` sends its run to the action's rate-limited queue.
    """

    execution: Execution
    timeout_seconds: float | None
    runner_type: str | None = None
    ticket: Ticket | None = None
    rate_limited: bool = False
    # A python-workflow's code: it runs as `attune.PackWorkflow` instead.
    code: WorkflowCodeRef | None = None

    @property
    def waits_for_admission(self) -> bool:
        return self.ticket is not None and not self.ticket.admitted


@dataclass(frozen=True)
class WorkflowStarter:
    client: Client
    task_queue: str
    heartbeat_timeout_seconds: float = 30.0
    # None: as long as the client retries. The API's callers wait for this, so it bounds it.
    start_timeout_seconds: float | None = None

    @classmethod
    def from_settings(
        cls, client: Client, settings: Settings, *, start_timeout_seconds: float | None = None
    ) -> WorkflowStarter:
        """How this process starts execution workflows, per the settings."""
        return cls(
            client,
            settings.task_queue,
            settings.action_heartbeat_timeout,
            start_timeout_seconds=start_timeout_seconds,
        )

    async def start(self, pending: PendingStart) -> bool:
        """Start the execution's workflow; False when it had been started already.

        `TimeoutError` when Temporal has not answered within `start_timeout_seconds`
        (connecting included: the client connects on first use).
        """
        execution = pending.execution
        input = self.input_for(pending)
        bound = self.start_timeout_seconds
        try:
            async with asyncio.timeout(bound):
                await self.client.start_workflow(
                    workflow_type_for(pending.code),
                    input,
                    id=workflow_id_for(execution.id),
                    task_queue=self.task_queue,
                    # Never a second workflow for one row, even after the first has closed.
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    search_attributes=execution_search_attributes(
                        execution, queued=pending.waits_for_admission
                    ),
                    static_summary=summary_of(execution, pending.code),
                    execution_timeout=input.workflow_time_limit(),
                    # Tells the server too how long the answer is awaited.
                    rpc_timeout=timedelta(seconds=bound) if bound is not None else None,
                )
        except WorkflowAlreadyStartedError:
            return False
        except TimeoutError:
            if bound is None:
                raise
            raise TimeoutError(f"no answer from Temporal within {bound:g} s") from None
        return True

    def input_for(self, pending: PendingStart) -> ExecutionInput:
        """What the execution's workflow is started with."""
        execution, ticket = pending.execution, pending.ticket
        return ExecutionInput(
            execution_id=execution.id,
            action_ref=execution.action_ref,
            timeout_seconds=pending.timeout_seconds,
            heartbeat_timeout_seconds=self.heartbeat_timeout_seconds,
            runner_type=pending.runner_type,
            queue_position=ticket.position if ticket is not None else None,
            admitted=ticket is None or ticket.admitted,
            waiting_ahead=ticket.ahead if ticket is not None else 0,
            activity_task_queue=(
                activity_queue_for(self.task_queue, execution.action_ref)
                if pending.rate_limited
                else None
            ),
            code=pending.code,
        )

    async def start_all(self, pending: Iterable[PendingStart]) -> list[int]:
        """Start each workflow; return the ids of the executions whose workflow now exists.

        A failure is logged and left to the reconciler.
        """
        starts = list(pending)
        results = await asyncio.gather(*(self.start(p) for p in starts), return_exceptions=True)
        running = []
        for start, result in zip(starts, results, strict=True):
            if isinstance(result, BaseException):
                logger.warning(
                    "could not start the workflow of execution %d (the reconciler will): %s",
                    start.execution.id,
                    result,
                )
            else:
                running.append(start.execution.id)
        return running

    async def start_and_record(
        self, session: AsyncSession, pending: Iterable[PendingStart]
    ) -> list[int]:
        """Start the workflows of committed rows, then mark those rows `scheduled`.

        `requested` thus means "no workflow yet" to the reconciler, and `scheduled` that
        Temporal holds the work. A worker that has already claimed a row is not overtaken.
        """
        starts = list(pending)
        started = await self.start_all(starts)
        if started:
            admitted = await executions.mark_scheduled(session, ids=started)
            await session.commit()
            # A slot granted between the row's commit and its workflow's start was signalled
            # to a workflow that did not exist yet: tell the workflow now.
            waiting = {p.execution.id for p in starts if p.waits_for_admission}
            await signal_admitted(self.client, [id for id in admitted if id in waiting])
        return started

    def handle(self, execution_id: int) -> WorkflowHandle[ExecutionWorkflow, ExecutionOutcome]:
        return self.client.get_workflow_handle_for(
            ExecutionWorkflow.run, workflow_id_for(execution_id)
        )


def execution_search_attributes(
    execution: Execution, *, queued: bool = False
) -> TypedSearchAttributes:
    """What operators filter on in the Web UI; never anything secret.

    `queued`: it starts waiting for an admission slot, which the status shows as `queued`.
    """
    return search_attributes.for_execution(
        execution.id,
        execution.action_ref,
        rule_ref=execution.rule_ref,
        trigger_ref=execution.trigger_ref,
        parent_id=execution.parent_id,
        queued=queued,
    )


async def pending_starts_for(session: AsyncSession, rows: list[Execution]) -> list[PendingStart]:
    """What each row's workflow needs, for rows written earlier: its action's timeout, runner,
    code and policy routing, as the row and its action hold them now."""
    action_ids = {row.action_id for row in rows if row.action_id is not None}
    by_id = {
        action.id: action
        for action in await actions.repository.list(
            session, where=[Action.id.in_(action_ids)], limit=len(action_ids) or 1
        )
    }
    rate_limited = await policies.list_rate_limits(session) if rows else {}
    pending = []
    for row in rows:
        action = by_id.get(row.action_id or 0)
        ticket = None
        if row.queue_position is not None:
            ticket = Ticket(row.queue_position, admitted=row.admitted_at is not None, ahead=0)
        pending.append(
            PendingStart(
                row,
                action.timeout_seconds if action is not None else None,
                runner_type=action.runner_type if action is not None else None,
                code=code_ref_for(action) if action is not None else None,
                ticket=ticket,
                rate_limited=row.action_ref in rate_limited,
            )
        )
    return pending


def workflow_type_for(code: WorkflowCodeRef | None) -> str:
    """The workflow an execution runs as: its pack's code, or an action run."""
    return PACK_WORKFLOW if code is not None else EXECUTION_WORKFLOW


def code_ref_for(action: Action) -> WorkflowCodeRef | None:
    """A python-workflow action's code as it is registered now; None for other runners."""
    if action.runner_type != PACK_WORKFLOW_RUNNER or action.code_digest is None:
        return None
    relative, _, attribute = action.entry_point.partition(":")
    return WorkflowCodeRef(action.code_digest, module_name(relative), attribute)


def summary_of(execution: Execution, code: WorkflowCodeRef | None = None) -> str:
    """The line the Web UI shows for the workflow: the action, and where it came from."""
    what = execution.action_ref
    if code is not None:
        what += f" (workflow code {code.digest[:12]})"
    if execution.rule_ref is not None:
        return f"{what} (rule {execution.rule_ref})"
    return what
