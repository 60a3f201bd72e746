"""The activity behind a timer firing: one event on the timer trigger, for its rule alone.

The event goes through the same ingestion as any other (criteria, templates, policies),
but is matched against the firing's own rule only: two rules on `core.interval` are two
timers, not one. Its dedupe key is the schedule id and the due time, so however often
the activity is retried (a worker lost after the commit, say) the firing is one event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.timer_types import FireTimerInput, FireTimerOutcome
from attune.engine.event_ingestion import EventSource, accept_sourced_event
from attune.engine.workflow_starts import WorkflowStarter
from attune.timers.specs import TIMER_TRIGGERS, timer_spec
from db.repositories import rule as rules
from db.repositories import trigger as triggers

logger = logging.getLogger(__name__)


class TimerActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        starter: WorkflowStarter,
        *,
        encryption_key: bytes | None = None,
    ) -> None:
        self._sessions = sessions
        self._starter = starter
        self._encryption_key = encryption_key

    @activity.defn(name="attune.fire_timer")
    async def fire_timer(self, input: FireTimerInput) -> FireTimerOutcome:
        """Write the firing's event and start its execution, unless written already."""
        async with self._sessions() as session:
            rule = await rules.repository.find_by_key(session, input.rule_ref)
            # A schedule outlives its rule until the next reconcile pass: fire nothing.
            why_not = None
            if rule is None or rule.trigger_ref not in TIMER_TRIGGERS:
                why_not = f"rule {input.rule_ref!r} is no longer a timer rule"
            elif not rule.enabled:
                why_not = f"rule {input.rule_ref!r} is disabled"
            trigger = (
                None
                if rule is None
                else await triggers.repository.find_by_key(session, rule.trigger_ref)
            )
            if why_not is None and (trigger is None or not trigger.enabled):
                why_not = f"trigger {rule.trigger_ref if rule else '?'} is missing or disabled"
            if why_not is not None or rule is None or trigger is None:
                logger.info("timer firing of %s skipped: %s", input.schedule_id, why_not)
                return FireTimerOutcome(event_id=None, execution_ids=[], why_not=why_not)
            payload = {
                "executed_at": datetime.now(UTC).isoformat(),
                "scheduled_at": input.scheduled_at,
                "schedule": input.schedule_id,
                "rule": rule.ref,
                "timer": timer_spec(rule.trigger_ref, rule.trigger_parameters).summary,
                "parameters": rule.trigger_parameters,
            }
            ingested = await accept_sourced_event(
                session,
                self._starter,
                trigger=trigger,
                payload=payload,
                encryption_key=self._encryption_key,
                source=EventSource(
                    dedupe_key=f"{input.schedule_id}@{input.scheduled_at}", rules=[rule]
                ),
            )
        if ingested is None:
            return FireTimerOutcome(event_id=None, execution_ids=[], why_not="fired already")
        return FireTimerOutcome(
            event_id=ingested.event.id,
            execution_ids=[execution.id for execution in ingested.executions],
        )
