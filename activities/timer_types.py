"""What a timer firing's workflow and activity exchange (plain data, for Temporal)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TimerFiringInput:
    """The argument a timer rule's schedule starts each firing with."""

    rule_ref: str
    schedule_id: str


@dataclass(frozen=True)
class FireTimerInput:
    """One firing: its rule, its schedule and when it was due (ISO 8601, UTC)."""

    rule_ref: str
    schedule_id: str
    scheduled_at: str


@dataclass(frozen=True)
class FireTimerOutcome:
    """The event the firing wrote (None: the rule is gone or disabled, or the firing had
    written its event already) and the executions it started."""

    event_id: int | None
    execution_ids: list[int]
    why_not: str | None = None
