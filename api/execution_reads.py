"""Executions as the API shows them: secrets masked, a link to the Web UI, and the inquiry
a live one is waiting for."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.history import ExecutionRead
from api.schemas.inquiries import WaitingInquiry
from api.services import Services
from attune.packs.parameters import mask_secrets, secret_parameters
from db.models import Execution
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import action as actions
from db.repositories import inquiry as inquiries


async def execution_reads(
    session: AsyncSession, services: Services, rows: Sequence[Execution]
) -> list[ExecutionRead]:
    """The executions as the API shows them.

    When the action is gone, nothing says which parameters were secret: all are masked.
    """
    secrets: dict[int, frozenset[str]] = {}
    for action_id in {row.action_id for row in rows if row.action_id is not None}:
        action = await actions.repository.find(session, id=action_id)
        if action is not None:
            secrets[action_id] = secret_parameters(action.parameters)
    # Only a live execution can be waiting for an answer; the others cost no query.
    live = [row.id for row in rows if row.status not in TERMINAL_EXECUTION_STATUSES]
    waiting = await inquiries.pending_by_execution(session, execution_ids=live)
    reads = []
    for row in rows:
        read = execution_read(services, row, secrets.get(row.action_id or 0))
        if row.id in waiting:
            read.waiting_inquiry = WaitingInquiry.of(waiting[row.id])
        reads.append(read)
    return reads


def execution_read(
    services: Services, row: Execution, secrets: frozenset[str] | None
) -> ExecutionRead:
    """One execution as the API shows it, with its action's `secrets` masked (None: all),
    but without the inquiry it may be waiting for (one just written waits for none)."""
    read = ExecutionRead.model_validate(row)
    read.parameters = mask_secrets(row.parameters, secrets)
    if row.workflow_id is not None:
        ui = services.settings.public_temporal_ui_url
        namespace = services.settings.temporal_namespace
        read.web_ui_url = f"{ui}/namespaces/{namespace}/workflows/{row.workflow_id}"
    return read
