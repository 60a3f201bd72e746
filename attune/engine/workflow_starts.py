"""Starting the `attune.Execution` workflow of an execution row, exactly once.

Callers start workflows only after the rows commit. A start that fails (Temporal down,
the API killed halfway) leaves the row `requested`, and the reconciler starts it later;
a second start of the same id is refused by Temporal, which is what makes that safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.execution_types import ExecutionInput, ExecutionOutcome
from attune.config import Settings
from attune.engine.admission import signal_admitted
from attune.engine.rate_limits import activity_queue_for
from db.models import Execution, ExecutionStatus
from db.repositories import execution as executions
from db.repositories.admission import Ticket
from workflows import search_attributes
from workflows.admission import QUEUED_STATUS
from workflows.execution import ExecutionWorkflow, workflow_id_for

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

    @property
    def waits_for_admission(self) -> bool:
        return self.ticket is not None and not self.ticket.admitted


@dataclass(frozen=True)
class WorkflowStarter:
    client: Client
    task_queue: str
    heartbeat_timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, client: Client, settings: Settings) -> WorkflowStarter:
        """How this process starts execution workflows, per the settings."""
        return cls(client, settings.task_queue, settings.action_heartbeat_timeout)

    async def start(self, pending: PendingStart) -> bool:
        """Start the execution's workflow; False when it had been started already."""
        execution = pending.execution
        try:
            await self.client.start_workflow(
                ExecutionWorkflow.run,
                self._input(pending),
                id=workflow_id_for(execution.id),
                task_queue=self.task_queue,
                # Never a second workflow for one row, even after the first has closed.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=execution_search_attributes(
                    execution, queued=pending.waits_for_admission
                ),
                static_summary=_summary(execution),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    def _input(self, pending: PendingStart) -> ExecutionInput:
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
    # The workflow exists from this call on: that is what `scheduled` means.
    status = QUEUED_STATUS if queued else ExecutionStatus.SCHEDULED.value
    pairs: list[SearchAttributePair[int] | SearchAttributePair[str]] = [
        SearchAttributePair(search_attributes.EXECUTION_ID, execution.id),
        SearchAttributePair(search_attributes.ACTION, execution.action_ref),
        SearchAttributePair(search_attributes.PACK, execution.action_ref.split(".", 1)[0]),
        SearchAttributePair(search_attributes.STATUS, status),
    ]
    if execution.rule_ref is not None:
        pairs.append(SearchAttributePair(search_attributes.RULE, execution.rule_ref))
    if execution.trigger_ref is not None:
        pairs.append(SearchAttributePair(search_attributes.TRIGGER, execution.trigger_ref))
    if execution.parent_id is not None:
        pairs.append(
            SearchAttributePair(search_attributes.PARENT_EXECUTION_ID, execution.parent_id)
        )
    return TypedSearchAttributes(pairs)


def _summary(execution: Execution) -> str:
    if execution.rule_ref is not None:
        return f"{execution.action_ref} (rule {execution.rule_ref})"
    return execution.action_ref
