"""A scenario's figures, its one line, and the goal line over all scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

GOAL_FIELDS = ("lost", "stuck", "twice", "fifo_violations", "over_limit")


@dataclass
class Result:
    """What one scenario measured. `twice` counts runs started twice and requests that made
    two executions (`duplicated`, also shown apart)."""

    scenario: str
    acknowledged: int = 0
    completed: int = 0
    abandoned: int = 0
    failed: int = 0
    lost: int = 0
    stuck: int = 0
    twice: int = 0
    fifo_violations: int = 0
    over_limit: int = 0
    recover_s: float | None = None
    duplicated: int = 0
    unacknowledged: int = 0
    retried: int = 0
    survivors: int = 0
    seconds: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        """The goal: nothing lost, stuck or run twice, FIFO kept, the limit held."""
        if self.error is not None or self.acknowledged == 0:
            return False
        return all(getattr(self, name) == 0 for name in GOAL_FIELDS)

    def line(self) -> str:
        recover = "none" if self.recover_s is None else f"{self.recover_s:.1f}"
        parts = [
            f"scenario={self.scenario}",
            f"acknowledged={self.acknowledged}",
            f"completed={self.completed}",
            f"abandoned={self.abandoned}",
            f"failed={self.failed}",
            f"lost={self.lost}",
            f"stuck={self.stuck}",
            f"twice={self.twice}",
            f"fifo_violations={self.fifo_violations}",
            f"over_limit={self.over_limit}",
            f"recover_s={recover}",
            f"duplicated={self.duplicated}",
            f"unacknowledged={self.unacknowledged}",
            f"retried={self.retried}",
            f"survivors={self.survivors}",
            f"took_s={self.seconds:.0f}",
        ]
        if self.error is not None:
            parts.append(f"error={self.error!r}")
        return " ".join(parts)

    def details(self) -> str:
        """The line, then one indented line per note."""
        return "\n".join([self.line(), *(f"  {note}" for note in self.notes)])


def goal_line(results: Sequence[Result]) -> str:
    head = "goal " + " ".join(f"{name}=0" for name in GOAL_FIELDS)
    failing = [result.scenario for result in results if not result.met]
    if not results:
        return f"{head}: NOT met (no scenario ran)"
    return f"{head}: met" if not failing else f"{head}: NOT met ({', '.join(failing)})"
