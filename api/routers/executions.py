"""Executions: run an action, list and show executions, cancel one, run one again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import check_item, needs, request_permissions
from api.auth import CurrentIdentity
from api.deps import ServicesDep, SessionDep
from api.execution_access import check_execution, pack_of, visible_executions
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.history import ExecutionCreate, ExecutionRead, ExecutionRerun
from api.schemas.inquiries import WaitingInquiry
from api.schemas.pages import BeforeId, HistoryPage, Limit, next_before_id, present
from api.services import Services
from attune import errors
from attune.auth.permissions import Resource, Verb
from attune.crypto import SecretDecryptionError
from attune.engine.cancellation import cancel_execution
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.engine.secret_parameters import unsealed_parameters
from attune.excerpts import excerpt
from attune.packs.parameters import SECRET_MASK, mask_secrets, secret_parameters
from db.models import Action, Execution, ExecutionStatus, Identity
from db.models.enums import TERMINAL_EXECUTION_STATUSES
from db.repositories import action as actions
from db.repositories import execution as executions
from db.repositories import inquiry as inquiries

router = APIRouter(prefix="/executions", tags=["executions"])


@router.post(
    "",
    status_code=201,
    responses=errors_of(403, 404, 409, 413, 429),
    **needs(Resource.ACTION, Verb.EXECUTE),
)
async def create_execution(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    body: ExecutionCreate,
) -> ExecutionRead:
    """Run an action now (needs execute on it). 404/409 for an unknown/disabled action, 422
    naming a bad parameter, 429 when the action's policy refuses it (queue full, or no free
    slot with `cancel`)."""
    _check_execute(request, body.action)
    action = await find_runnable_action(session, body.action)
    return await _run(session, services, identity, action=action, parameters=body.parameters)


@router.get("", responses=errors_of(403), **needs(Resource.EXECUTION, Verb.VIEW))
async def list_executions(
    session: SessionDep,
    services: ServicesDep,
    request: Request,
    limit: Limit = 100,
    before_id: BeforeId = None,
    action: str | None = None,
    status: ExecutionStatus | None = None,
    rule: str | None = None,
    trigger: str | None = None,
    enforcement: IdFilter = None,
    parent: IdFilter = None,
) -> HistoryPage[ExecutionRead]:
    """Newest first; every filter given must hold. Only the executions the caller may view
    (those of the packs its grants name, say) are listed."""
    filters = present(
        action_ref=action,
        status=status,
        rule_ref=rule,
        trigger_ref=trigger,
        enforcement_id=enforcement,
        parent_id=parent,
    )
    visible = visible_executions(request_permissions(request))
    rows = await executions.repository.list(
        session, limit=limit, before_id=before_id, where=[visible], **filters
    )
    return HistoryPage[ExecutionRead](
        items=await _reads(session, services, rows),
        next_before_id=next_before_id(rows, limit=limit),
    )


@router.get("/{id}", responses=errors_of(403, 404), **needs(Resource.EXECUTION, Verb.VIEW))
async def get_execution(
    session: SessionDep, services: ServicesDep, request: Request, id: RecordId
) -> ExecutionRead:
    """One execution; 404 too for one the caller may not view."""
    execution = await executions.repository.get(session, id=id)
    check_execution(request_permissions(request), execution, Verb.VIEW)
    return (await _reads(session, services, [execution]))[0]


@router.post(
    "/{id}/cancel",
    status_code=202,
    responses=errors_of(403, 404, 409),
    **needs(Resource.EXECUTION, Verb.CANCEL),
)
async def cancel(
    session: SessionDep, services: ServicesDep, request: Request, id: RecordId
) -> ExecutionRead:
    """Ask the execution to stop: it goes `canceling`, then `cancelled` once its processes
    are gone. 409 when it has already ended."""
    check_execution(
        request_permissions(request), await executions.repository.get(session, id=id), Verb.CANCEL
    )
    execution = await cancel_execution(session, services.starter, execution_id=id)
    return (await _reads(session, services, [execution]))[0]


@router.post(
    "/{id}/re-run",
    status_code=201,
    responses=errors_of(403, 404, 409, 413, 429),
    **needs(Resource.ACTION, Verb.EXECUTE),
)
async def rerun(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    id: RecordId,
    body: ExecutionRerun | None = None,
) -> ExecutionRead:
    """Run the execution's action again, as a new execution linked by `rerun_of`, with the
    original's parameters (secret ones included) and the body's `parameters` over them.
    The original's secret values are reused only for the identity that gave them: anyone
    else gives them again (403 naming them), or could send them wherever the other
    parameters point. 404 for an unknown execution or a deleted action, 409 for a disabled
    one, 422 naming a bad parameter, 429 when the action's policy refuses it. Needs a view
    of the original and execute on its action."""
    original = await executions.repository.get(session, id=id)
    check_execution(request_permissions(request), original, Verb.VIEW)
    _check_execute(request, original.action_ref)
    action = await find_runnable_action(session, original.action_ref)
    given = body.parameters if body is not None else {}
    parameters = {
        **_original_parameters(services, identity, original, action, given),
        **given,
    }
    return await _run(
        session, services, identity, action=action, parameters=parameters, rerun_of=original.id
    )


def _check_execute(request: Request, action_ref: str) -> None:
    """404 for an action the caller may not view, 403 when it may not run it; by the ref
    alone, before the lookup, so a disabled action's 409 tells nothing to those who may
    not see it."""
    check_item(
        request_permissions(request),
        Resource.ACTION,
        Verb.EXECUTE,
        pack=pack_of(action_ref),
        ref=action_ref,
        noun=f"action {excerpt(action_ref)}",
    )


async def _run(
    session: AsyncSession,
    services: Services,
    identity: Identity,
    *,
    action: Action,
    parameters: Mapping[str, Any],
    **origin: Any,
) -> ExecutionRead:
    """Write the caller's execution of the action, commit, and start its workflow."""
    pending = await request_execution(
        session,
        action=action,
        parameters=parameters,
        encryption_key=services.secrets_key,
        key_ring=services.settings.encryption_key_ring,
        # Defaults that are key templates read `keystore.user` as the caller's keys.
        user=identity.login,
        executor_id=identity.id,
        **origin,
    )
    await session.commit()
    await services.starter.start_and_record(session, [pending])
    current = await executions.repository.get(session, id=pending.execution.id)
    return (await _reads(session, services, [current]))[0]


def _original_parameters(
    services: Services,
    identity: Identity,
    original: Execution,
    action: Action,
    given: Mapping[str, Any],
) -> dict[str, Any]:
    """The parameters the original ran with, secret values unsealed.

    The key is needed only for secrets the caller does not replace, and only the identity
    that ran the original may reuse them. A secret the original never kept (it failed
    before it ran) is left out rather than run as `********`, so a required one is a 422
    naming it.
    """
    masked = {name for name, value in original.parameters.items() if value == SECRET_MASK}
    parameters = dict(original.parameters)
    reused = sorted(masked - given.keys())
    if reused and original.secret_parameters is not None:
        if original.executor_id != identity.id:
            raise errors.PermissionDenied(
                f"execution {original.id}'s secret parameters ({', '.join(reused)}) were "
                "given by another identity (or by a rule); give them in `parameters`",
                details={"execution": original.id, "parameters": reused},
            )
        try:
            parameters = unsealed_parameters(
                services.secrets_key, original.id, parameters, original.secret_parameters
            )
        except SecretDecryptionError as error:
            raise errors.Conflict(
                f"execution {original.id}'s secret parameters cannot be read ({error}); "
                "give them in `parameters`",
                details={"execution": original.id},
            ) from None
    secrets = secret_parameters(action.parameters)
    return {
        name: value
        for name, value in parameters.items()
        if not (name in secrets and value == SECRET_MASK)
    }


async def _reads(
    session: AsyncSession, services: Services, rows: Sequence[Execution]
) -> list[ExecutionRead]:
    """The executions as the API shows them: secrets masked, a link to the Web UI.

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
    ui = services.settings.public_temporal_ui_url
    namespace = services.settings.temporal_namespace
    reads = []
    for row in rows:
        read = ExecutionRead.model_validate(row)
        read.parameters = mask_secrets(row.parameters, secrets.get(row.action_id or 0))
        if row.workflow_id is not None:
            read.web_ui_url = f"{ui}/namespaces/{namespace}/workflows/{row.workflow_id}"
        if row.id in waiting:
            read.waiting_inquiry = WaitingInquiry.of(waiting[row.id])
        reads.append(read)
    return reads
