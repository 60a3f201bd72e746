"""`attune.TimerFiring`: one firing of a timer rule's Temporal Schedule.

The schedule starts it with id `timer-<rule ref>-<fire time>`; it hands the rule and the
moment the firing was due to one activity, which writes the event (see
`activities.timers`). The due moment comes from the `TemporalScheduledStartTime` search
attribute Temporal sets on every scheduled run, so a retried activity, or a firing
started twice, keys the same event. Unsandboxed, like `attune.Execution`: pure code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.timer_types import FireTimerInput, FireTimerOutcome, TimerFiringInput
    from activities.timers import TimerActivities
    from workflows.ids import TIMER_FIRING_WORKFLOW

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# A firing retries while PostgreSQL is away, but gives up on one that no one will want.
FIRING_DEADLINE = timedelta(hours=1)


@workflow.defn(name=TIMER_FIRING_WORKFLOW, sandboxed=False)
class TimerFiringWorkflow:
    @workflow.run
    async def run(self, input: TimerFiringInput) -> FireTimerOutcome:
        due = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        # Started by hand (`temporal schedule trigger`), a run has no due time: its start is.
        moment = due or workflow.info().start_time
        return await workflow.execute_activity_method(
            TimerActivities.fire_timer,
            FireTimerInput(input.rule_ref, input.schedule_id, moment.isoformat()),
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=FIRING_DEADLINE,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
        )
