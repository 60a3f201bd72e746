"""What an execution's error says when its run did not end the ordinary way.

Operators read these in the API, the CLI and the Web UI; each names which case happened,
and whether the action had started (a started action is never run again).
"""

from __future__ import annotations

NOT_RETRIED = "the action is not retried because actions are not assumed to be safe to run twice"
RUN_LOST = (
    f"Temporal gave up on this run (its worker went silent or it ran too long); {NOT_RETRIED}"
)
STARTED_THEN_LOST = (
    f"the worker running this action stopped responding after the action had started; {NOT_RETRIED}"
)
# Raised (so Temporal retries elsewhere) by a worker asked to run an action while stopping.
STOPPING_TYPE = "WorkerStopping"
STOPPING = "this worker is stopping; the run goes to another worker (its action had not started)"
CANCELLED_BY_REQUEST = "cancelled by request"
CANCELLED_BEFORE_RUN = "cancelled by request before it ran"


def worker_stopped(grace_seconds: float) -> str:
    """Why a run ended when its worker was stopped before the action finished."""
    return (
        f"the worker running this action was stopped and the action did not finish within "
        f"its {grace_seconds:g}s grace; {NOT_RETRIED}"
    )
