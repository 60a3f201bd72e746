"""Executions: run an action, list and show executions, cancel one, run one again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import check_item, needs, request_permissions
from api.auth import CurrentIdentity
from api.deps import ServicesDep, SessionDep
from api.execution_access import check_execution, pack_of, visible_executions
from api.execution_reads import execution_read, execution_reads
from api.idempotency import (
    IdempotencyKeyHeader,
    IdempotentCall,
    idempotent_call,
    identity_scope,
    replayable,
)
from api.params import IdFilter, RecordId
from api.responses import errors_of
from api.schemas.history import ExecutionCreate, ExecutionRead, ExecutionRerun
from api.schemas.pages import BeforeId, HistoryPage, Limit, next_before_id, present
from api.services import Services
from attune import errors
from attune.auth.permissions import Resource, Verb
from attune.crypto import SecretDecryptionError
from attune.engine.cancellation import cancel_execution
from attune.engine.execution_requests import find_runnable_action, request_execution
from attune.engine.secret_parameters import unsealed_parameters
from attune.excerpts import excerpt
from attune.packs.parameters import SECRET_MASK, secret_parameters
from db.models import Action, Execution, ExecutionStatus, Identity
from db.repositories import execution as executions

router = APIRouter(prefix="/executions", tags=["executions"])


CREATED = replayable(201)


@router.post(
    "",
    status_code=201,
    response_model=ExecutionRead,
    responses={**CREATED, **errors_of(403, 404, 409, 413, 429)},
    **needs(Resource.ACTION, Verb.EXECUTE),
)
async def create_execution(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    body: ExecutionCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Run an action now (needs execute on it). 404/409 for an unknown/disabled action, 422
    naming a bad parameter, 429 when the action's policy refuses it (queue full, or no free
    slot with `cancel`). With an `Idempotency-Key` a repeat gets the first answer again
    (409 when the key came with another request). While Temporal is unreachable the answer
    comes within about a second, the execution `requested`: a worker starts it later."""
    _check_execute(request, body.action)
    call = await idempotent_call(request, idempotency_key, scope=identity_scope(identity))
    if (replayed := await call.replay(session)) is not None:
        return replayed
    action = await find_runnable_action(session, body.action)
    return await _run(session, services, identity, call, action=action, parameters=body.parameters)


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
        items=await execution_reads(session, services, rows),
        next_before_id=next_before_id(rows, limit=limit),
    )


@router.get("/{id}", responses=errors_of(403, 404), **needs(Resource.EXECUTION, Verb.VIEW))
async def get_execution(
    session: SessionDep, services: ServicesDep, request: Request, id: RecordId
) -> ExecutionRead:
    """One execution; 404 too for one the caller may not view."""
    execution = await executions.repository.get(session, id=id)
    check_execution(request_permissions(request), execution, Verb.VIEW)
    return (await execution_reads(session, services, [execution]))[0]


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
    return (await execution_reads(session, services, [execution]))[0]


@router.post(
    "/{id}/re-run",
    status_code=201,
    response_model=ExecutionRead,
    responses={**CREATED, **errors_of(403, 404, 409, 413, 429)},
    **needs(Resource.ACTION, Verb.EXECUTE),
)
async def rerun(
    session: SessionDep,
    services: ServicesDep,
    identity: CurrentIdentity,
    request: Request,
    id: RecordId,
    body: ExecutionRerun | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Run the execution's action again, as a new execution linked by `rerun_of`, with the
    original's parameters (secret ones included) and the body's `parameters` over them.
    The original's secret values are reused only for the identity that gave them: anyone
    else gives them again (403 naming them), or could send them wherever the other
    parameters point. 404 for an unknown execution or a deleted action, 409 for a disabled
    one, 422 naming a bad parameter, 429 when the action's policy refuses it. Needs a view
    of the original and execute on its action. `Idempotency-Key` as for `POST /executions`."""
    call = await idempotent_call(request, idempotency_key, scope=identity_scope(identity))
    if (replayed := await call.replay(session)) is not None:
        return replayed
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
        session,
        services,
        identity,
        call,
        action=action,
        parameters=parameters,
        rerun_of=original.id,
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
    call: IdempotentCall,
    *,
    action: Action,
    parameters: Mapping[str, Any],
    **origin: Any,
) -> Response:
    """Write the caller's execution of the action (and its idempotency key), commit, and
    start its workflow.

    The key keeps the execution as written (`requested`) in the row's own transaction, so
    a crash before the start leaves a key whose retry answers with it; once the start has
    moved the status, the answer sent replaces it.
    """
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
    if call.key is not None:
        # Read back: the row holds values the database computed (`admitted_at`).
        row = await executions.repository.get(session, id=pending.execution.id)
        written = execution_read(services, row, secret_parameters(action.parameters))
        if (replayed := await call.keep(session, written, status_code=201)) is not None:
            return replayed
    await session.commit()
    await services.starter.start_and_record(session, [pending])
    current = await executions.repository.get(session, id=pending.execution.id)
    sent = await call.sent(
        session, (await execution_reads(session, services, [current]))[0], status_code=201
    )
    await session.commit()
    return sent


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
