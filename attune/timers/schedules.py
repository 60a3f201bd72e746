"""Keeping one Temporal Schedule per timer rule, the rule rows being the truth.

Each rule on `core.interval`, `core.cron` or `core.date` has the schedule `rule-<ref>`:
created when the rule appears, updated when its trigger parameters change, paused while
the rule is disabled, deleted with the rule. `reconcile_schedules` makes Temporal match
the rows and is safe to run at any time, in any number of processes at once: the worker
runs it when it starts and every minute, the API after each change to a pack's rules
(for that pack).

Chosen on purpose:
- Overlap `SKIP`: a firing still running (no worker up, say) makes the next ones skip
  instead of piling up, so a worker back after an hour does not fire an hour of events.
- Catch-up window one minute: firings missed while Temporal itself was down for longer
  are not made up; a timer is "every N", not "N times".
- A date timer's schedule takes one action; once fired it stays, done, until its rule
  changes or goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from activities.timer_types import TimerFiringInput
from attune.timers.specs import TIMER_TRIGGERS, TimerError, timer_spec
from db.models import Rule
from db.repositories import rule as rules
from db.repositories.base import MAX_LIMIT
from workflows.ids import TIMER_FIRING_WORKFLOW, schedule_id_for

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = schedule_id_for("")
CATCHUP_WINDOW = timedelta(minutes=1)
DIGEST_MEMO = "attune_timer"
QUEUE_MEMO = "task_queue"
# Bumped when what a schedule holds changes shape, so every schedule is rewritten once.
SCHEDULE_FORMAT = 1


@dataclass
class ScheduleChanges:
    """The schedule ids reconciling touched, by what it did to them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    unpaused: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


async def reconcile_schedules(
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    *,
    task_queue: str,
    pack: str | None = None,
) -> ScheduleChanges:
    """Create, update, pause, unpause and delete schedules until they match the rules
    (of `pack` only, when given: what one registration or rule change touched, so the API
    does not pay for every timer at each change; workers reconcile them all).

    One rule's failure (a Temporal error, a row that makes no timer) is logged and does
    not stop the others. Only schedules made for this task queue are deleted, so two
    installations sharing a namespace on their own queues leave each other's alone.
    """
    async with sessions() as session:
        wanted = {schedule_id_for(rule.ref): rule for rule in await _timer_rules(session, pack)}
    changes = ScheduleChanges()
    prefix = SCHEDULE_PREFIX if pack is None else schedule_id_for(f"{pack}.")
    for schedule_id, rule in wanted.items():
        try:
            await _ensure(client, schedule_id, rule, task_queue, changes)
        except TimerError as error:  # a row written by hand, past the registrar's checks
            logger.error("rule %s makes no timer: %s: %s", rule.ref, error.field, error)
        except RPCError:
            logger.warning("schedule %s not reconciled this time", schedule_id, exc_info=True)
    # Listing lags a little behind creation; a schedule it misses is deleted next pass.
    stale = [
        listed.id
        async for listed in await client.list_schedules()
        if listed.id.startswith(prefix)
        and listed.id not in wanted
        and await listed.memo_value(QUEUE_MEMO, None) in (None, task_queue)
    ]
    if stale:
        # Read again: a rule registered since the first read has just made its schedule.
        async with sessions() as session:
            still = {schedule_id_for(rule.ref) for rule in await _timer_rules(session, pack)}
        for schedule_id in (item for item in stale if item not in still):
            with contextlib.suppress(RPCError):  # deleted already, by another process
                await client.get_schedule_handle(schedule_id).delete()
                changes.deleted.append(schedule_id)
    if any(vars(changes).values()):
        logger.info("timer schedules reconciled: %s", changes)
    return changes


def schedule_for(rule: Rule, task_queue: str) -> Schedule:
    """The schedule a timer rule should have, paused when the rule is disabled."""
    timer = timer_spec(rule.trigger_ref, rule.trigger_parameters, anchor=rule.created)
    schedule_id = schedule_id_for(rule.ref)
    return Schedule(
        action=ScheduleActionStartWorkflow(
            TIMER_FIRING_WORKFLOW,
            TimerFiringInput(rule_ref=rule.ref, schedule_id=schedule_id),
            id=f"timer-{rule.ref}",
            task_queue=task_queue,
            memo={DIGEST_MEMO: _digest(rule, task_queue)},
            static_summary=f"Timer of rule {rule.ref}: {timer.summary}"[:200],
        ),
        spec=timer.spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(
            paused=not rule.enabled,
            note=_note(rule),
            limited_actions=timer.once,
            remaining_actions=1 if timer.once else 0,
        ),
    )


async def _ensure(
    client: Client, schedule_id: str, rule: Rule, task_queue: str, changes: ScheduleChanges
) -> None:
    try:
        await client.create_schedule(
            schedule_id,
            schedule_for(rule, task_queue),
            memo={"rule": rule.ref, QUEUE_MEMO: task_queue},
        )
        changes.created.append(schedule_id)
        return
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    described = await handle.describe()
    if await _described_digest(client, described) != _digest(rule, task_queue):

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule_for(rule, task_queue))

        await handle.update(replace)
        changes.updated.append(schedule_id)
    elif described.schedule.state.paused == rule.enabled:
        if rule.enabled:
            await handle.unpause(note=_note(rule))
            changes.unpaused.append(schedule_id)
        else:
            await handle.pause(note=_note(rule))
            changes.paused.append(schedule_id)


def _note(rule: Rule) -> str:
    return f"rule {rule.ref} is {'enabled' if rule.enabled else 'disabled'}"


def _digest(rule: Rule, task_queue: str) -> str:
    """What the schedule's action and spec follow from; paused-or-not is compared apart."""
    content = [SCHEDULE_FORMAT, rule.trigger_ref, rule.trigger_parameters, task_queue]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


async def _described_digest(client: Client, described: ScheduleDescription) -> str | None:
    action = described.schedule.action
    if not isinstance(action, ScheduleActionStartWorkflow) or not action.memo:
        return None
    value = action.memo.get(DIGEST_MEMO)
    if isinstance(value, Payload):
        # As stored: encrypted by the codec (`attune.payload_codec`), so decoded through it.
        decoded = (await client.data_converter.decode([value]))[0]
        return decoded if isinstance(decoded, str) else None
    return value if isinstance(value, str) else None


async def _timer_rules(session: AsyncSession, pack: str | None) -> Sequence[Rule]:
    """Every timer rule (of `pack`, when given), however many pages that takes."""
    scope: dict[str, Any] = {} if pack is None else {"pack_ref": pack}
    found: list[Rule] = []
    while True:
        page = await rules.repository.list(
            session,
            where=[Rule.trigger_ref.in_(sorted(TIMER_TRIGGERS))],
            limit=MAX_LIMIT,
            offset=len(found),
            **scope,
        )
        found.extend(page)
        if len(page) < MAX_LIMIT:
            return found
