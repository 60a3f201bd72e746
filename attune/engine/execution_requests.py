"""Writing an execution row: the one place an action's parameters are checked before a run.

A parameter's default that is a key template (`default: "{{ st2kv.user.api_token }}"`, as
StackStorm packs write it) is rendered when it is filled in, with `keystore.system`,
`keystore.pack` (the action's pack) and `keystore.user` (the caller's keys; refused when a
rule asked) available; see `attune.keys.templates`. A value the caller gives is data and
is never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from activities.ask_parameters import read_ask_parameters
from activities.runners.types import SHELL_PARAMETERS, WORKFLOW_RUNNER_TYPES
from attune import errors
from attune.engine.secret_parameters import NO_KEY, seal, split_secrets
from attune.engine.workflow_starts import PendingStart, code_ref_for
from attune.keys.templates import KeyOwners, mentions_keys, read_keys
from attune.packs.parameters import secret_parameters, validate_parameters
from attune.rules.templating import render_parameters_off_loop
from db.models import Action, Execution, ExecutionStatus
from db.repositories import action as actions
from db.repositories import admission
from db.repositories import execution as executions
from db.repositories import policy as policies
from workflows.execution import workflow_id_for


async def find_runnable_action(session: AsyncSession, ref: str) -> Action:
    """The action to run; `NotFound` or `Conflict` (disabled) naming it otherwise."""
    action = await actions.repository.get_by_key(session, ref)
    if not action.enabled:
        raise errors.Conflict(f"action {ref!r} is disabled", details={"action": ref})
    return action


async def request_execution(
    session: AsyncSession,
    *,
    action: Action,
    parameters: Mapping[str, Any],
    encryption_key: bytes | None = None,
    key_ring: Sequence[bytes] | None = None,
    user: str | None = None,
    **origin: Any,
) -> PendingStart:
    """Validate the parameters (defaults filled in) and write the execution as `requested`.

    `origin` carries where it came from: enforcement_id, rule_ref, trigger_ref, executor_id,
    parent_id. A parameter error raises `ValidationError` naming the parameter. When the
    action has a concurrency policy the execution takes its place in the action's queue in
    this same transaction; a full queue raises `PolicyViolation` and writes nothing.
    Secret parameters are sealed with `encryption_key` (see `secret_parameters`).
    Defaults that are key templates render with the keys `key_ring` opens (default:
    `encryption_key` alone); `user` is the login of the identity asking, whose keys
    `keystore.user` reads (None: a rule or a workflow asks, and it is refused).
    Returns the row with what its workflow needs to start once the transaction commits.
    """
    if key_ring is None:
        key_ring = (encryption_key,) if encryption_key is not None else ()
    parameters = await _with_template_defaults(
        session, action, parameters, key_ring=key_ring, user=user
    )
    checked = validate_parameters(action.parameters, parameters)
    if action.runner_type in WORKFLOW_RUNNER_TYPES:
        # Checked now, so a bad ttl or schema is a 422 to the caller, not a later failure.
        read_ask_parameters(checked)
    policy = await policies.effective_for_action(session, action_ref=action.ref)
    ticket = None
    # A runner the workflow carries out itself (`inquirer`: waiting for a person) occupies
    # no worker, so it is never admitted through a queue.
    admitted_through_queue = action.runner_type not in WORKFLOW_RUNNER_TYPES
    if policy is not None and policy.concurrency_limit is not None and admitted_through_queue:
        ticket = await admission.take_ticket(session, action=action, policy=policy)
        origin["queue_position"] = ticket.position
        if ticket.admitted:
            # The insert's own instant, taken after the queue lock (now() is the transaction's
            # start, which can be earlier than the release that freed this slot).
            origin["admitted_at"] = func.statement_timestamp()
    execution = await _write(
        session,
        action=action,
        parameters=checked,
        status=ExecutionStatus.REQUESTED,
        encryption_key=encryption_key,
        **origin,
    )
    return PendingStart(
        execution,
        action.timeout_seconds,
        runner_type=action.runner_type,
        code=code_ref_for(action),
        ticket=ticket,
        rate_limited=(
            policy is not None
            and policy.rate_limit_per_second is not None
            and admitted_through_queue
        ),
    )


async def _with_template_defaults(
    session: AsyncSession,
    action: Action,
    parameters: Mapping[str, Any],
    *,
    key_ring: Sequence[bytes],
    user: str | None,
) -> Mapping[str, Any]:
    """`parameters` and the rendered defaults of the absent ones that are key templates.

    Only a default that mentions `keystore` or `st2kv` is a template: any other default
    text, braces and all, is the value it always was.
    """
    properties: Mapping[str, Any] = action.parameters.get("properties", {})
    templated = {
        name: prop["default"]
        for name, prop in properties.items()
        if name not in parameters
        and isinstance(prop, Mapping)
        and isinstance(prop.get("default"), str)
        and mentions_keys(prop["default"])
    }
    if not templated:
        return parameters
    keys = await read_keys(
        session,
        [templated],
        owners=KeyOwners(pack=action.pack_ref, user=user),
        key_ring=key_ring,
        secret_parameters=secret_parameters(action.parameters),
        reader=user or f"action:{action.ref}",
    )
    assert keys is not None, "the defaults mention keys"
    try:
        rendered = await render_parameters_off_loop(
            templated,
            keys.names(),
            shell_parameters=SHELL_PARAMETERS.get(action.runner_type, frozenset()),
        )
    except errors.ValidationError as error:
        raise errors.ValidationError(
            f"the default of {error.message}", details=error.details
        ) from None
    return {**parameters, **rendered}


async def record_failed_execution(
    session: AsyncSession,
    *,
    action: Action | None,
    action_ref: str,
    parameters: Mapping[str, Any],
    error: str,
    **origin: Any,
) -> Execution:
    """Write an execution that failed before it could run (bad parameters, missing action).

    It is recorded rather than dropped, so the operator sees why a rule did nothing. It
    never runs, so its secret parameters are only masked, not kept.
    """
    return await _write(
        session,
        action=action,
        action_ref=action_ref,
        parameters=dict(parameters),
        status=ExecutionStatus.FAILED,
        error=error,
        ended_at=func.now(),
        **origin,
    )


async def _write(
    session: AsyncSession,
    *,
    action: Action | None,
    parameters: dict[str, Any],
    status: ExecutionStatus,
    action_ref: str | None = None,
    encryption_key: bytes | None = None,
    **values: Any,
) -> Execution:
    secrets = secret_parameters(action.parameters) if action is not None else frozenset()
    stored, secret_values = split_secrets(parameters, secrets)
    runs = status is ExecutionStatus.REQUESTED
    if runs and secret_values and encryption_key is None:
        raise errors.ServiceUnavailable(NO_KEY)  # before anything is written
    execution = await executions.repository.create(
        session,
        action_id=action.id if action is not None else None,
        action_ref=action.ref if action is not None else action_ref,
        parameters=stored,
        status=status,
        **values,
    )
    if runs:
        # The id exists only after the insert; naming the workflow in the same transaction
        # means a row that will run names its workflow from the moment anyone can read it.
        execution.workflow_id = workflow_id_for(execution.id)
        if secret_values:
            execution.secret_parameters = seal(encryption_key, execution.id, secret_values)
        await session.flush()
    return execution
