"""Where an event becomes executions: match the trigger's rules, render, write the rows.

Everything here runs in the caller's transaction; the workflows start only after it
commits (see `workflow_starts`). A rule whose parameters fail to render or validate
still gets its enforcement and a `failed` execution carrying the message: a bad rule is
recorded, and it never breaks ingestion of the event or the other rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attune import errors
from attune.engine.execution_requests import record_failed_execution, request_execution
from attune.engine.payloads import validate_payload
from attune.engine.rule_chains import SYSTEM_TRIGGERS, listens
from attune.engine.rule_parameters import render_rule_parameters
from attune.engine.workflow_starts import PendingStart, WorkflowStarter
from attune.json_limits import check_json
from attune.packs.definitions import TIMER_TRIGGER_TYPE
from attune.packs.parameters import mask_secrets, secret_parameters
from attune.rules.criteria import matches
from db.models import Action, Enforcement, EnforcementStatus, Event, Execution, Pack, Rule, Trigger
from db.repositories import action as actions
from db.repositories import enforcement as enforcements
from db.repositories import event as events
from db.repositories import pack as packs
from db.repositories import rule as rules
from db.repositories import trigger as triggers
from db.repositories.base import MAX_LIMIT

# What keeps one rule from running its action without being the event's problem.
RECORDED_REFUSALS = (errors.ValidationError, errors.PolicyViolation, errors.ServiceUnavailable)


@dataclass
class Ingested:
    """The rows an event caused, and the workflows to start once they commit."""

    event: Event
    enforcements: list[Enforcement] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    to_start: list[PendingStart] = field(default_factory=list)


async def find_accepting_trigger(session: AsyncSession, ref: str) -> Trigger:
    """The trigger a caller may emit on; `NotFound` or `Conflict` naming it otherwise.

    Conflict for a disabled trigger, and for those only Attune fires: a timer's event
    would run every rule of that timer, and a made-up `core.execution_finished` would
    pass for a real result.
    """
    trigger = await triggers.repository.get_by_key(session, ref)
    if not trigger.enabled:
        raise errors.Conflict(f"trigger {ref!r} is disabled", details={"trigger": ref})
    if trigger.trigger_type == TIMER_TRIGGER_TYPE or ref in SYSTEM_TRIGGERS:
        raise errors.Conflict(
            f"trigger {ref!r} is fired by Attune itself, not through the API",
            details={"trigger": ref},
        )
    return trigger


@dataclass(frozen=True)
class EventSource:
    """Where an event comes from, when not from a caller of the API.

    `dedupe_key` names the occurrence (a timer's schedule and fire time, an execution's
    end): writing it twice makes one event. `rules` limits the candidates (a timer's
    event is its own rule's alone); `sensor_id` is the sensor that dispatched it.
    """

    dedupe_key: str | None = None
    sensor_id: int | None = None
    rules: Sequence[Rule] | None = None


async def ingest_event(
    session: AsyncSession,
    *,
    trigger: Trigger,
    payload: Any,
    encryption_key: bytes | None = None,
    source: EventSource | None = None,
    key_ring: Sequence[bytes] | None = None,
) -> Ingested | None:
    """Write the event, then an enforcement and an execution for each rule it matches.

    `encryption_key` seals the secret parameters of the executions (see `secret_parameters`);
    `key_ring` opens the encrypted keys templates read (default: `encryption_key` alone).
    None only when `source.dedupe_key` names an event already written.
    """
    source = source or EventSource()
    # Events come from more than HTTP (sensors, timers): whatever is stored must read back.
    check_json(payload, field="payload")
    validate_payload(trigger.payload_schema, payload, trigger_ref=trigger.ref)
    values = {
        "trigger_id": trigger.id,
        "trigger_ref": trigger.ref,
        "payload": payload,
        "source_sensor_id": source.sensor_id,
    }
    if source.dedupe_key is None:
        event: Event | None = await events.repository.create(session, **values)
    else:
        event = await events.create_once(session, dedupe_key=source.dedupe_key, **values)
    if event is None:
        return None
    ingested = Ingested(event=event)
    lookups = _Lookups(session, encryption_key, key_ring)
    candidates = source.rules
    if candidates is None:
        candidates = await rules.list_enabled_for_trigger_ref(
            session, trigger_ref=trigger.ref, limit=MAX_LIMIT
        )
    matched = [
        rule
        for rule in candidates
        if rule.enabled and listens(rule, payload) and matches(rule.criteria, payload)
    ]
    # By action first: admission locks each action's queue until commit, and taking those
    # locks in one global order is what keeps two events from deadlocking on them.
    for rule in sorted(matched, key=lambda rule: (rule.action_ref, rule.ref)):
        await _enforce(session, rule, event, lookups, ingested)
    return ingested


async def accept_event(
    session: AsyncSession,
    starter: WorkflowStarter,
    *,
    trigger: Trigger,
    payload: Any,
    encryption_key: bytes | None = None,
    key_ring: Sequence[bytes] | None = None,
) -> Ingested:
    """Ingest a caller's event, commit its rows, then start its executions' workflows."""
    ingested = await accept_sourced_event(
        session,
        starter,
        trigger=trigger,
        payload=payload,
        encryption_key=encryption_key,
        key_ring=key_ring,
    )
    assert ingested is not None, "an event without a dedupe key is always written"
    return ingested


async def accept_sourced_event(
    session: AsyncSession,
    starter: WorkflowStarter,
    *,
    trigger: Trigger,
    payload: Any,
    encryption_key: bytes | None = None,
    source: EventSource | None = None,
    key_ring: Sequence[bytes] | None = None,
) -> Ingested | None:
    """`accept_event` for an event from `source`: None (nothing written) when its
    `dedupe_key` names an event already written."""
    ingested = await ingest_event(
        session,
        trigger=trigger,
        payload=payload,
        encryption_key=encryption_key,
        source=source,
        key_ring=key_ring,
    )
    await session.commit()
    if ingested is not None:
        await starter.start_and_record(session, ingested.to_start)
    return ingested


async def _enforce(
    session: AsyncSession,
    rule: Rule,
    event: Event,
    lookups: _Lookups,
    ingested: Ingested,
) -> None:
    action = await lookups.action(rule.action_ref)
    parameters: dict[str, Any] | None = None
    error: str | None = None
    try:
        if action is None:
            raise errors.NotFound(f"action {rule.action_ref!r} not found")
        if not action.enabled:
            raise errors.Conflict(f"action {rule.action_ref!r} is disabled")
        parameters = {}
        if rule.action_parameters:  # the pack's config is read only when there is a template
            parameters = await render_rule_parameters(
                session,
                rule=rule,
                event=event,
                action=action,
                pack=await lookups.pack(rule.pack_id),
                key_ring=lookups.key_ring,
            )
    except errors.AttuneError as failure:
        error = failure.message
    enforcement = await enforcements.repository.create(
        session,
        rule_id=rule.id,
        rule_ref=rule.ref,
        event_id=event.id,
        trigger_ref=event.trigger_ref,
        conditions=rule.criteria,
        payload=event.payload,
        # The record of the decision; only the execution needs the secrets themselves.
        parameters=(
            mask_secrets(parameters, secret_parameters(action.parameters))
            if parameters is not None and action is not None
            else parameters
        ),
        status=EnforcementStatus.PROCESSED,
        error=error,
    )
    origin: dict[str, Any] = {
        "enforcement_id": enforcement.id,
        "rule_ref": rule.ref,
        "trigger_ref": event.trigger_ref,
        # A rule runs as whoever registered its pack (None: registered by the bootstrap).
        "executor_id": rule.executor_id,
    }
    execution: Execution | None = None
    if error is None and action is not None and parameters is not None:
        try:
            pending = await request_execution(
                session,
                action=action,
                parameters=parameters,
                encryption_key=lookups.encryption_key,
                key_ring=lookups.key_ring,
                **origin,
            )
            execution = pending.execution
            ingested.to_start.append(pending)
        except (
            errors.ValidationError,
            errors.PolicyViolation,
            errors.ServiceUnavailable,
        ) as failure:
            # A bad parameter, a full queue, no key to seal a secret with: recorded as a
            # failed execution, never dropped, and the event's other rules still run.
            error = failure.message
            enforcement.error = error
    if execution is None:
        execution = await record_failed_execution(
            session,
            action=action,
            action_ref=rule.action_ref,
            parameters=parameters or {},
            error=error or "the rule could not run its action",
            **origin,
        )
    ingested.enforcements.append(enforcement)
    ingested.executions.append(execution)


class _Lookups:
    """Actions and packs read once per event, however many rules share them; and the keys
    that seal secret parameters and open encrypted keys."""

    def __init__(
        self,
        session: AsyncSession,
        encryption_key: bytes | None,
        key_ring: Sequence[bytes] | None,
    ) -> None:
        self._session = session
        self.encryption_key = encryption_key
        default_ring = (encryption_key,) if encryption_key is not None else ()
        self.key_ring = tuple(key_ring) if key_ring is not None else default_ring
        self._actions: dict[str, Action | None] = {}
        self._packs: dict[int, Pack | None] = {}

    async def action(self, ref: str) -> Action | None:
        if ref not in self._actions:
            self._actions[ref] = await actions.repository.find_by_key(self._session, ref)
        return self._actions[ref]

    async def pack(self, pack_id: int) -> Pack | None:
        if pack_id not in self._packs:
            self._packs[pack_id] = await packs.repository.find(self._session, id=pack_id)
        return self._packs[pack_id]
