"""The ledger the chaos actions write, and what it proves: runs twice, limits, FIFO order.

Each line is `start|end <execution id> <seq> <action> <unix time> <pid>`. A run killed
with its worker writes no end mark, so `Watch` follows the ledger while the scenario runs
and notes when each marked process disappeared: that moment ends its interval.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.25
# A later request whose script started less than this before an earlier one's may merely
# have won the race to the shell after both were admitted at once.
START_RACE_SECONDS = 0.1


@dataclass(frozen=True)
class Mark:
    kind: str
    execution_id: int
    seq: int
    action: str
    at: float
    pid: int


@dataclass(frozen=True)
class Interval:
    execution_id: int
    start: float
    end: float


def parse(line: str) -> Mark | None:
    parts = line.split()
    if len(parts) != 6 or parts[0] not in {"start", "end"}:
        return None
    try:
        return Mark(
            parts[0], int(parts[1]), int(parts[2]), parts[3], float(parts[4]), int(parts[5])
        )
    except ValueError:
        return None


class Watch:
    """Reads the ledger as it grows and watches each started script's process."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = ""
        self._running: dict[tuple[int, int], psutil.Process | None] = {}
        self.marks: list[Mark] = []
        self.vanished: dict[tuple[int, int], float] = {}
        """(execution id, pid) of a start mark without end mark -> when its process was gone."""

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            self.poll()
            await asyncio.sleep(POLL_SECONDS)

    @property
    def running(self) -> int:
        """Scripts started and still alive, as of the last poll."""
        return len(self._running)

    def poll(self) -> None:
        now = time.time()
        for mark in self._read_new():
            self.marks.append(mark)
            key = (mark.execution_id, mark.pid)
            if mark.kind == "end":
                self._running.pop(key, None)
                self.vanished.pop(key, None)
                continue
            self._running[key] = _process_of(mark)
        for key, process in list(self._running.items()):
            if process is None or not _alive(process):
                self.vanished.setdefault(key, now)
                del self._running[key]

    def _read_new(self) -> list[Mark]:
        try:
            with self._path.open() as ledger:
                ledger.seek(self._offset)
                text = ledger.read()
                self._offset = ledger.tell()
        except FileNotFoundError:
            return []
        text, self._partial = self._partial + text, ""
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        return [mark for line in lines if (mark := parse(line)) is not None]


def _process_of(mark: Mark) -> psutil.Process | None:
    try:
        process = psutil.Process(mark.pid)
        # A pid used again by a younger process is not the script's.
        return process if process.create_time() <= mark.at + 1.0 else None
    except psutil.NoSuchProcess:
        return None


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def started_twice(marks: Iterable[Mark]) -> set[int]:
    """Execution ids with more than one start mark: actions that ran twice."""
    starts = Counter(mark.execution_id for mark in marks if mark.kind == "start")
    return {execution_id for execution_id, count in starts.items() if count > 1}


def intervals(marks: Iterable[Mark], vanished: Mapping[tuple[int, int], float]) -> list[Interval]:
    """When each started script ran: to its end mark, to when it vanished, or on still."""
    marks = list(marks)
    ends = {(mark.execution_id, mark.pid): mark.at for mark in marks if mark.kind == "end"}
    found = []
    for mark in marks:
        if mark.kind == "start":
            key = (mark.execution_id, mark.pid)
            end = ends.get(key, vanished.get(key, math.inf))
            found.append(Interval(mark.execution_id, mark.at, end))
    return found


def over_limit(runs: Iterable[Interval], limit: int) -> int:
    """Moments (starts) after which more than `limit` scripts were running at once."""
    events = sorted(
        [(run.start, 1) for run in runs] + [(run.end, -1) for run in runs if run.end < math.inf]
    )
    running = moments = 0
    for _, step in events:  # at equal times the end (-1) sorts first
        running += step
        if step > 0 and running > limit:
            moments += 1
    return moments


def fifo_violations(
    first_starts: Mapping[int, float],
    positions: Mapping[int, int],
    admitted_at: Mapping[int, float | None],
) -> set[int]:
    """Runs started ahead of an earlier request that was still waiting.

    `first_starts`: execution id -> its first start mark; `positions`: its place in the
    queue (request order); `admitted_at`: when the database granted its slot. A later run
    counts when its script started before an earlier one's (beyond a race of shells), unless
    the earlier one had been granted its slot first or at the same moment (then only its
    start was late, as when its first worker died before the script began).
    """
    violations = set()
    ordered = sorted((run for run in first_starts if run in positions), key=positions.__getitem__)
    for later_index, later in enumerate(ordered):
        for earlier in ordered[:later_index]:
            if first_starts[later] + START_RACE_SECONDS >= first_starts[earlier]:
                continue
            earlier_grant, later_grant = admitted_at.get(earlier), admitted_at.get(later)
            if (
                earlier_grant is not None
                and later_grant is not None
                and earlier_grant <= later_grant
            ):
                continue
            violations.add(later)
            break
    return violations


def first_starts(marks: Iterable[Mark], action: str) -> dict[int, float]:
    found: dict[int, float] = {}
    for mark in marks:
        if mark.kind == "start" and mark.action == action:
            found[mark.execution_id] = min(mark.at, found.get(mark.execution_id, math.inf))
    return found
