"""When a child that ended is started again, and when restarting is no longer worth it.

A child that ends is restarted after a delay that starts at one second
(`ATTUNE_RESTART_DELAY`) and doubles with each quick failure, up to thirty; a child that
had run for a minute starts from the first delay again. A child that needs more than five
restarts within two minutes is in a crash loop: restarting it again would only hide the
fault, so the whole system stops instead.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

FIRST_RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 30.0
# A child that ran this long before it ended was healthy: its next delay starts over.
HEALTHY_RUN_SECONDS = 60.0
# More restarts than this of one child within the window is a crash loop.
CRASH_LOOP_RESTARTS = 5
CRASH_LOOP_WINDOW_SECONDS = 120.0


class CrashLoop(Exception):
    """A child keeps ending soon after each restart; the system stops rather than spin."""


@dataclass
class RestartPolicy:
    """The restart history of one child."""

    name: str
    first_delay: float = FIRST_RESTART_DELAY_SECONDS
    _restarts: deque[float] = field(default_factory=deque)
    _delay: float = field(init=False)

    def __post_init__(self) -> None:
        self._delay = self.first_delay

    def delay_after_exit(self, *, ran_for: float, now: float) -> float:
        """Seconds to wait before the next start; raises `CrashLoop` when there should be none."""
        while self._restarts and self._restarts[0] <= now - CRASH_LOOP_WINDOW_SECONDS:
            self._restarts.popleft()
        if len(self._restarts) >= CRASH_LOOP_RESTARTS:
            raise CrashLoop(
                f"{self.name} ended again after {CRASH_LOOP_RESTARTS} restarts within "
                f"{CRASH_LOOP_WINDOW_SECONDS:g}s: a crash loop"
            )
        if ran_for >= HEALTHY_RUN_SECONDS:
            self._delay = self.first_delay
        delay = self._delay
        self._delay = min(self._delay * 2, MAX_RESTART_DELAY_SECONDS)
        self._restarts.append(now)
        return delay
