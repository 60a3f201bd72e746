"""`attune.Sensor`: one enabled sensor, run exactly once however many workers poll.

Started by `attune.engine.sensor_workflows.reconcile_sensors` with id `sensor-<ref>`;
Temporal lets one workflow hold that id, and the workflow runs one `attune.run_sensor`
activity at a time, so the sensor's code runs in one process at a time. Each activity is
a lease of a few minutes; when a worker dies its lease goes silent, Temporal times its
heartbeat out and retries it on another worker, which reads the cursor from the row.

A failing sensor is retried for ever, with backoff capped at `MAX_RETRY_INTERVAL`: a
sensor is never dropped because its source was down for an hour. After `leases_per_run`
leases the workflow continues as new, so its history stays a few hundred events long.
A sensor polling less often than a lease lasts (every hour, say) waits between leases
on a durable timer, its process started afresh for each poll.

It runs in the sandbox, unlike `attune.Execution`: there is one per sensor, not one per
event, so the sandbox's cost of importing this module again for each run is paid rarely,
and its determinism checks come for free.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.sensor_types import SensorInput, SensorLease, SensorLeaseEnded
    from activities.sensors import SensorActivities

SENSOR_WORKFLOW = "attune.Sensor"
MAX_RETRY_INTERVAL = timedelta(minutes=2)
# Beyond the lease: the last poll, stopping the process, writing the row.
LEASE_MARGIN = timedelta(minutes=2)
RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=MAX_RETRY_INTERVAL,
    maximum_attempts=0,  # unlimited
)


def sensor_workflow_id(ref: str) -> str:
    """The workflow id of a sensor: one sensor, one workflow."""
    return f"sensor-{ref}"


@workflow.defn(name=SENSOR_WORKFLOW)
class SensorWorkflow:
    @workflow.run
    async def run(self, input: SensorInput) -> SensorLeaseEnded:
        lease = SensorLease(input.ref, input.lease_seconds, input.poll_timeout_seconds)
        limit = timedelta(seconds=input.lease_seconds + input.poll_timeout_seconds) + LEASE_MARGIN
        for _ in range(max(1, input.leases_per_run)):
            ended = await workflow.execute_activity_method(
                SensorActivities.run_sensor,
                lease,
                start_to_close_timeout=limit,
                heartbeat_timeout=timedelta(seconds=input.heartbeat_timeout_seconds),
                retry_policy=RETRY_POLICY,
                # A stopped sensor cleans up (its `cleanup()` runs) before the workflow ends.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
            if not ended.keep_running:
                return ended
            if ended.wait_seconds > 0:  # the next poll is further off than a lease lasts
                await workflow.sleep(ended.wait_seconds)
        workflow.continue_as_new(input)
