"""The checks pack-workflow activities make of their caller and of what it asks for.

Kept apart from the activities: they are the rules (who may ask, how deep workflows
nest, how much of a child's result a parent gets), the activities only apply them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from attune import errors
from db.models import Action, Execution
from db.repositories import execution as executions
from db.repositories import policy as policies
from workflows.ids import PACK_WORKFLOW

MAX_NESTING = 16
"""How deep workflows may nest: a workflow that runs itself would otherwise never stop."""
MAX_CHILD_RESULT_BYTES = 1_048_576
"""The most of a child's result a workflow receives (it goes into the workflow's history)."""
KEPT_OUTPUT_CHARS = 65_536
"""What of a child's stdout and stderr is kept when its whole result is too large."""


def check_caller(execution_id: int) -> int:
    """The calling workflow's own execution, which must be `execution_id`.

    Taken from the activity's workflow id, never from its input: a pack workflow's code
    could call these activities itself, naming another execution (to read its secrets,
    or end it).
    """
    info = activity.info()
    own = info.workflow_id.removeprefix("execution-") if info.workflow_id else ""
    if info.workflow_type != PACK_WORKFLOW or not own.isdigit() or int(own) != execution_id:
        raise refusal(f"only the pack workflow of execution {execution_id} may ask this")
    return execution_id


def refusal(message: str) -> ApplicationError:
    """A refusal the workflow sees at once: retrying would be refused the same way."""
    return ApplicationError(message, type="attune.Refused", non_retryable=True)


async def check_nesting(session: AsyncSession, parent: Execution, action: Action) -> None:
    """Refuse a child nested too deep, or one that would wait for a slot its own ancestors
    hold (a limit-1 workflow that runs itself would wait for itself forever)."""
    ancestors = [parent]  # the parent, its parent, ... up to the top-level execution
    while ancestors[-1].parent_id is not None and len(ancestors) < MAX_NESTING:
        ancestors.append(await executions.repository.get(session, id=ancestors[-1].parent_id))
    if len(ancestors) >= MAX_NESTING:  # the child would be one deeper than allowed
        raise errors.ValidationError(
            f"workflows nest at most {MAX_NESTING} deep", details={"field": "ref"}
        )
    policy = await policies.effective_for_action(session, action_ref=action.ref)
    limit = policy.concurrency_limit if policy is not None else None
    holding = sum(1 for ancestor in ancestors if ancestor.action_id == action.id)
    if limit is not None and holding >= limit:
        raise errors.Conflict(
            f"{action.ref} allows {limit} at once, and this workflow's own ancestors hold "
            f"{holding}: its child would wait for them forever",
            details={"action": action.ref},
        )


def bounded_result(result: Any) -> Any:
    """A child's result as a workflow may hold it: stdout and stderr cut when it is large."""
    if len(json.dumps(result)) <= MAX_CHILD_RESULT_BYTES:
        return result
    if isinstance(result, dict):
        trimmed = dict(result)
        for stream in ("stdout", "stderr"):
            if isinstance(trimmed.get(stream), str) and len(trimmed[stream]) > KEPT_OUTPUT_CHARS:
                trimmed[stream] = trimmed[stream][:KEPT_OUTPUT_CHARS]
                trimmed[f"{stream}_truncated"] = True
        if len(json.dumps(trimmed)) <= MAX_CHILD_RESULT_BYTES:
            return trimmed
    return {"result_truncated": True, "note": "too large to hand to a workflow; see the API"}
