"""Policies: persistence."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Policy
from db.repositories.base import DEFAULT_LIMIT, Repository

repository = Repository(Policy, noun="policy", order_by=("ref",), natural_key="ref")


async def list_by_action(
    session: AsyncSession, *, action_ref: str, limit: int = DEFAULT_LIMIT
) -> list[Policy]:
    """The policies on an action ref, enabled or not, by ref."""
    return await repository.list(session, action_ref=action_ref, limit=limit)


async def find_enabled_for_action(session: AsyncSession, *, action_ref: str) -> Policy | None:
    """The enabled policy on an action ref (the first by ref if several), or None."""
    return await repository.find_first(session, action_ref=action_ref, enabled=True)


@dataclass(frozen=True)
class EffectivePolicy:
    """What the enabled policies on one action add up to: the strictest of each limit.

    `concurrency_limit` None means executions are not admitted through a queue at all;
    `cancel` means a full set of slots refuses new executions instead of queueing them.
    """

    concurrency_limit: int | None
    max_queue_length: int
    cancel: bool
    rate_limit_per_second: float | None


async def effective_for_action(session: AsyncSession, *, action_ref: str) -> EffectivePolicy | None:
    """The combined enabled policies on the action, or None when it has none (one query)."""
    limited = Policy.concurrency_limit.is_not(None)
    query = select(
        func.count(),
        func.min(Policy.concurrency_limit),
        func.min(Policy.max_queue_length).filter(limited),
        func.bool_or(Policy.method == "cancel").filter(limited),
        func.min(Policy.rate_limit_per_second),
    ).where(Policy.action_ref == action_ref, Policy.enabled.is_(True))
    count, limit, max_queue, cancel, per_second = (await session.execute(query)).one()
    if not count:
        return None
    return EffectivePolicy(
        concurrency_limit=limit,
        max_queue_length=max_queue if max_queue is not None else 0,
        cancel=bool(cancel),
        rate_limit_per_second=per_second,
    )


async def list_rate_limits(session: AsyncSession) -> dict[str, float]:
    """Action ref to its strictest enabled rate limit, for every rate-limited action."""
    query = (
        select(Policy.action_ref, func.min(Policy.rate_limit_per_second))
        .where(Policy.enabled.is_(True), Policy.rate_limit_per_second.is_not(None))
        .group_by(Policy.action_ref)
    )
    return {ref: rate for ref, rate in (await session.execute(query)).all() if rate is not None}
