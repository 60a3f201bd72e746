"""Rate-limit policies, enforced by Temporal: one rate-limited activity task queue per action.

An action whose policy sets `rate_limit.per_second` runs its `attune.run_execution`
activity on its own task queue, whose queue-wide rate limit is set on the Temporal server
with `UpdateTaskQueueConfig`; the server then hands out at most that many tasks a second,
to all workers together. Workers poll these queues (see `RateLimitedQueues`).

The server's limiter is per task-queue partition: the queue must have one partition (the
embedded dev server is started so) for the whole queue to keep the rate.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import RateLimit
from temporalio.api.workflowservice.v1 import UpdateTaskQueueConfigRequest
from temporalio.client import Client

RATE_LIMIT_REASON = "Attune rate-limit policy"


def activity_queue_for(task_queue: str, action_ref: str) -> str:
    """The activity task queue on which an action's rate-limited runs wait their turn."""
    return f"{task_queue}.rate-limited.{action_ref}"


async def apply_rate_limit(client: Client, task_queue: str, per_second: float | None) -> None:
    """Set (or with None, remove) the queue-wide rate limit of an activity task queue."""
    update = UpdateTaskQueueConfigRequest.RateLimitUpdate(reason=RATE_LIMIT_REASON)
    if per_second is not None:
        update.rate_limit.CopyFrom(RateLimit(requests_per_second=per_second))
    await client.workflow_service.update_task_queue_config(
        UpdateTaskQueueConfigRequest(
            namespace=client.namespace,
            identity=client.identity,
            task_queue=task_queue,
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            update_queue_rate_limit=update,
        )
    )
