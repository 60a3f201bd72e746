"""The activities of `attune.Execution`: run an action and keep its execution row current.

The row is the record operators read; these activities are the only writers of an
execution's run-time statuses, so each write is a conditional UPDATE that cannot move an
execution backwards or end it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.execution_summary import summarize, summarize_row
from activities.execution_types import (
    ExecutionOutcome,
    FinishExecutionInput,
    RunExecutionInput,
)
from activities.run_artifacts import RunArtifacts, discard
from activities.run_endings import current_outcome, ended_status, record_ending, storable
from activities.run_messages import (
    CANCELLED_BEFORE_RUN,
    CANCELLED_BY_REQUEST,
    RUN_LOST,
    STARTED_THEN_LOST,
    STOPPING,
    STOPPING_TYPE,
    worker_stopped,
)
from activities.runners import run_action
from activities.runners.action_user import ActionUser
from activities.runners.endings import ending_path, forget_ending, read_ending
from activities.runners.types import ActionSpec, RunOutput, RunRequest
from attune.artifacts.store import ArtifactStore
from attune.auth.execution_tokens import execution_token_for
from attune.crypto import SecretDecryptionError
from attune.engine.secret_parameters import unsealed_parameters
from attune.errors import AttuneError
from attune.packs.parameters import secret_parameters
from db.models import ExecutionStatus
from db.repositories import execution as executions
from db.repositories import execution_output
from db.repositories.execution import ClaimedRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSettings:
    """How this worker runs actions."""

    api_url: str
    kill_grace_seconds: float = 5.0
    output_limit_bytes: int = 1_048_576
    heartbeat_interval: float = 1.0
    # Unseals secret parameters; a worker without it fails the runs that have some.
    encryption_key: bytes | None = None
    # Who action processes run as (ATTUNE_ACTION_USER); None: the worker's own user.
    action_user: ActionUser | None = None
    # After SIGTERM, how long running actions may finish (ATTUNE_WORKER_SHUTDOWN_GRACE).
    shutdown_grace_seconds: float = 0.0
    # Where action guards leave endings until they are recorded; None: private temp files.
    endings_dir: Path | None = None
    # Where artifacts are kept; None: runs get no ATTUNE_ARTIFACTS_DIR.
    artifacts: ArtifactStore | None = None
    # Where each run's ATTUNE_ARTIFACTS_DIR is made; None: a private temp folder per run.
    artifacts_work_dir: Path | None = None


@dataclass(frozen=True)
class _Claimed:
    run: ClaimedRun
    action: ActionSpec | None


class ExecutionActivities:
    """`sessions` may be autocommit sessions: every write through them is one statement.

    `transactions` are ordinary sessions, for the admission steps that must commit together.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        runner_settings: RunnerSettings,
        transactions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._transactions = transactions or sessions
        self._runner = runner_settings
        self._run_artifacts = RunArtifacts(
            self._transactions,
            runner_settings.artifacts,
            runner_settings.artifacts_work_dir,
            runner_settings.action_user,
        )

    @activity.defn(name="attune.run_execution")
    async def run_execution(self, input: RunExecutionInput) -> ExecutionOutcome:
        """Mark the execution running, run its action, record the ending.

        Cancellation (from the workflow) kills the action's process group and records
        `cancelled`; a worker shutting down records `abandoned`.
        """
        info = activity.info()
        if activity.is_worker_shutdown():
            # Nothing has started: another worker can run it safely (Temporal retries).
            raise ApplicationError(STOPPING, type=STOPPING_TYPE)
        workflow_id = info.workflow_id or f"execution-{input.execution_id}"
        claimed = await self._claim(input.execution_id, workflow_id, info.scheduled_time)
        if claimed is None:
            return await self._not_claimed(input, attempt=info.attempt)
        run, spec = claimed.run, claimed.action
        queued = input.admission_queued
        if spec is None:
            return await self._finish(
                run.execution_id,
                ExecutionStatus.FAILED,
                error=f"action {run.action_ref!r} no longer exists",
                queued=queued,
                run=run,
            )
        try:
            parameters = unsealed_parameters(
                self._runner.encryption_key, run.execution_id, run.parameters, run.sealed_secrets
            )
        except (AttuneError, SecretDecryptionError) as unreadable:
            message = unreadable.message if isinstance(unreadable, AttuneError) else str(unreadable)
            return await self._finish(
                run.execution_id, ExecutionStatus.FAILED, error=message, queued=queued, run=run
            )
        request = RunRequest(
            action=spec,
            parameters=parameters,
            execution_id=run.execution_id,
            api_url=self._runner.api_url,
            heartbeat=activity.heartbeat,
            heartbeat_interval=self._runner.heartbeat_interval,
            kill_grace_seconds=self._runner.kill_grace_seconds,
            output_limit_bytes=self._runner.output_limit_bytes,
            run_as=self._runner.action_user,
            api_token=execution_token_for(self._runner.encryption_key, run.execution_id),
            # Kept until the ending is in PostgreSQL: if this worker dies first, whoever
            # comes next records it from there (`activities.ending_recovery`).
            ending_file=self._ending_file(run.execution_id),
            on_output=execution_output.appender(self._sessions, run.execution_id),
            artifacts_dir=self._run_artifacts.folder_for(run.execution_id, spec.runner_type),
        )
        try:
            output = await run_action(request)
        except asyncio.CancelledError:
            status, error = self._why_cancelled(activity.cancellation_details())
            await self._finish(run.execution_id, status, error=error, queued=queued)
            self._forget_ending(run.execution_id)
            discard(request.artifacts_dir)
            raise
        except Exception as error:
            # A runner bug must still end the execution, or it would sit in `running`.
            logger.exception("runner %s failed on execution %d", spec.runner_type, run.execution_id)
            discard(request.artifacts_dir)
            outcome = await self._finish(
                run.execution_id,
                ExecutionStatus.FAILED,
                error=f"runner error: {error}",
                queued=queued,
                run=run,
            )
        else:
            outcome = await self._finish_with(run, output, request.artifacts_dir, queued=queued)
        self._forget_ending(run.execution_id)
        return outcome

    async def _finish_with(
        self, run: ClaimedRun, output: RunOutput, artifacts_dir: Path | None, *, queued: bool
    ) -> ExecutionOutcome:
        """Record what the action's process did: its artifacts first, then its ending."""
        result = storable(output)
        collected = await self._run_artifacts.collect(
            run.execution_id, run.action_ref, artifacts_dir, self._ending_file(run.execution_id)
        )
        if collected.refused:
            result["artifact_errors"] = collected.refused
        return await self._finish(
            run.execution_id,
            ended_status(output),
            result=result,
            error=output.error,
            queued=queued,
            run=run,
            output=output,
            artifacts=collected.kept,
        )

    def _ending_file(self, execution_id: int) -> Path | None:
        if self._runner.endings_dir is None:
            return None
        return ending_path(self._runner.endings_dir, execution_id)

    def _forget_ending(self, execution_id: int) -> None:
        if (path := self._ending_file(execution_id)) is not None:
            forget_ending(path)

    async def _not_claimed(self, input: RunExecutionInput, *, attempt: int) -> ExecutionOutcome:
        """The execution was not runnable: say why, and end it if nobody else will.

        A later attempt (Temporal retries a run whose worker went silent) finds the action
        started by the lost attempt: it is ended, never run again. A rare path, so the
        summary is read back from the row, whoever ended it.
        """
        current = await self._current_outcome(input.execution_id)
        if current.status == ExecutionStatus.CANCELING:
            # Cancelled before it ran, and the cancel never reached the workflow (the
            # API died, or Temporal refused the call): honour it now.
            current = await self._finish(
                input.execution_id,
                ExecutionStatus.CANCELLED,
                error=CANCELLED_BEFORE_RUN,
                queued=input.admission_queued,
            )
        elif current.status == ExecutionStatus.RUNNING and attempt > 1:
            current = await self._end_lost_run(input)
        return await self._with_row_summary(current)

    async def _end_lost_run(self, input: RunExecutionInput) -> ExecutionOutcome:
        """End a run a lost attempt started: as the action ended, when its guard left the
        ending here (this worker shares the lost one's host and data directory), else
        `abandoned`."""
        path = self._ending_file(input.execution_id)
        output = read_ending(path) if path is not None else None
        outcome = await record_ending(
            self._sessions,
            self._transactions,
            input.execution_id,
            ExecutionStatus.ABANDONED if output is None else ended_status(output),
            result=None if output is None else storable(output),
            error=STARTED_THEN_LOST if output is None else output.error,
            queued=input.admission_queued,
        )
        self._forget_ending(input.execution_id)
        # What the lost run left for its artifacts goes with it: nothing will read it.
        self._run_artifacts.discard_folders(input.execution_id)
        return outcome

    async def _with_row_summary(self, outcome: ExecutionOutcome) -> ExecutionOutcome:
        """The outcome with its summary read back from the row, which holds whatever ran."""
        async with self._sessions() as session:
            row = await executions.repository.get(session, id=outcome.execution_id)
        columns = {
            "id": row.id,
            "action_ref": row.action_ref,
            "parameters": row.parameters,
            "result": row.result,
            "error": row.error,
        }
        return replace(outcome, summary=summarize_row(columns, api_url=self._runner.api_url))

    def _why_cancelled(
        self, details: activity.ActivityCancellationDetails | None
    ) -> tuple[ExecutionStatus, str]:
        """Only a cancel someone asked for is `cancelled`; anything else lost the run."""
        if details is not None and details.cancel_requested:
            return ExecutionStatus.CANCELLED, CANCELLED_BY_REQUEST
        if activity.is_worker_shutdown():
            return ExecutionStatus.ABANDONED, worker_stopped(self._runner.shutdown_grace_seconds)
        return ExecutionStatus.ABANDONED, RUN_LOST

    @activity.defn(name="attune.finish_execution")
    async def finish_execution(self, input: FinishExecutionInput) -> ExecutionOutcome:
        """End an execution that could not end itself (its run was lost or cancelled early)."""
        outcome = await self._finish(
            input.execution_id,
            ExecutionStatus(input.status),
            error=input.error,
            queued=input.admission_queued,
        )
        return await self._with_row_summary(outcome)

    async def _claim(
        self, execution_id: int, workflow_id: str, scheduled_at: datetime
    ) -> _Claimed | None:
        async with self._sessions() as session:
            run = await executions.claim_for_run(
                session, id=execution_id, workflow_id=workflow_id, scheduled_at=scheduled_at
            )
        if run is None:
            return None
        if run.runner_type is None:
            return _Claimed(run, None)
        spec = ActionSpec(
            ref=run.action_ref,
            runner_type=run.runner_type,
            entry_point=run.entry_point,
            pack_path=run.pack_path,
            timeout_seconds=run.timeout_seconds,
            secret_parameters=secret_parameters(run.parameters_schema),
        )
        return _Claimed(run, spec)

    async def _finish(
        self,
        execution_id: int,
        status: ExecutionStatus,
        *,
        result: Any = None,
        error: str | None = None,
        queued: bool = False,
        run: ClaimedRun | None = None,
        output: RunOutput | None = None,
        artifacts: Sequence[tuple[int, str]] = (),
    ) -> ExecutionOutcome:
        """Record the ending; with the claimed `run`, the outcome carries its summary."""
        outcome = await record_ending(
            self._sessions,
            self._transactions,
            execution_id,
            status,
            result=result,
            error=error,
            queued=queued,
        )
        if run is None:
            return outcome
        summary = summarize(
            execution_id=execution_id,
            action_ref=run.action_ref,
            masked_parameters=run.parameters,
            api_url=self._runner.api_url,
            output=output,
            error=error,
            artifacts=artifacts,
        )
        return replace(outcome, summary=summary)

    async def _current_outcome(self, execution_id: int) -> ExecutionOutcome:
        return await current_outcome(self._sessions, execution_id)
