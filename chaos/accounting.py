"""From what was acknowledged, recorded and marked to a scenario's figures.

lost: acknowledged but no row, or a row with no ending and no workflow to end it.
stuck: not terminal at the deadline (with a workflow, or Temporal could not be asked).
twice: an execution whose action started twice, or a request that made two executions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from chaos.ledger import Watch, fifo_violations, first_starts, intervals, over_limit, started_twice
from chaos.load import Load
from chaos.pack import FIFO, FIFO_LIMIT
from chaos.records import Row
from chaos.report import Result

SHOWN = 8


def _ids(ids: set[int] | list[int]) -> str:
    shown = sorted(ids)[:SHOWN]
    more = f" (+{len(ids) - SHOWN} more)" if len(ids) > SHOWN else ""
    return ",".join(map(str, shown)) + more


def account(
    result: Result,
    load: Load,
    rows: Mapping[int, Row] | None,
    watch: Watch,
    no_workflow: set[int] | None,
) -> None:
    """Fill `result` in from the load's acknowledgements, the rows and the ledger."""
    ids = {ack.execution_id for ack in load.acknowledged.values()}
    result.acknowledged = len(ids)
    result.unacknowledged = load.total - len(load.acknowledged)
    result.retried = load.retried
    if load.refusals:
        result.notes.append(f"final refusals: {load.refusals}")
    if rows is None:
        result.stuck = len(ids)
        result.notes.append("PostgreSQL never answered: every acknowledged execution is stuck")
        rows = {}
    _count_statuses(result, ids, rows, no_workflow)
    _count_twice(result, ids, rows, watch)
    fifo_rows = {id: row for id, row in rows.items() if row.action_ref == FIFO}
    positions = {
        id: row.queue_position for id, row in fifo_rows.items() if row.queue_position is not None
    }
    admitted = {id: row.admitted_at for id, row in fifo_rows.items()}
    violations = fifo_violations(first_starts(watch.marks, FIFO), positions, admitted)
    result.fifo_violations = len(violations)
    if violations:
        result.notes.append(
            f"FIFO: started ahead of an earlier waiting request: {_ids(violations)}"
        )
    fifo_marks = [mark for mark in watch.marks if mark.action == FIFO]
    result.over_limit = over_limit(intervals(fifo_marks, watch.vanished), FIFO_LIMIT)


def _count_statuses(
    result: Result, ids: set[int], rows: Mapping[int, Row], no_workflow: set[int] | None
) -> None:
    missing = [id for id in ids if id not in rows]
    unended = [id for id in ids if id in rows and not rows[id].terminal]
    endings: Counter[str] = Counter()
    for id in ids & rows.keys():
        row = rows[id]
        if row.status == "completed":
            result.completed += 1
        elif row.status == "abandoned":
            result.abandoned += 1
        elif row.terminal:
            result.failed += 1
        if row.terminal and row.status != "completed":
            endings[f"{row.status}: {(row.error or '')[:140]}"] += 1
    orphaned = [id for id in unended if no_workflow is not None and id in no_workflow]
    stuck = [id for id in unended if id not in orphaned]
    result.lost += len(missing) + len(orphaned)
    result.stuck += len(stuck)
    if missing:
        result.notes.append(f"lost, no row: {_ids(missing)}")
    if orphaned:
        result.notes.append(f"lost, no ending and no workflow: {_ids(orphaned)}")
    if stuck:
        statuses = Counter(rows[id].status for id in stuck)
        result.notes.append(f"stuck {dict(statuses)}: {_ids(stuck)}")
        if no_workflow is None:
            result.notes.append("Temporal did not answer: workflows of stuck runs not checked")
    for ending, count in endings.most_common(4):
        result.notes.append(f"{count} x {ending}")


def _count_twice(result: Result, ids: set[int], rows: Mapping[int, Row], watch: Watch) -> None:
    ran_twice = started_twice(watch.marks) & ids
    executions_of: defaultdict[tuple[str, int], list[int]] = defaultdict(list)
    for row in rows.values():
        if row.seq is not None:
            executions_of[(row.action_ref, row.seq)].append(row.id)
    duplicated = [sorted(found) for found in executions_of.values() if len(found) > 1]
    result.duplicated = len(duplicated)
    result.twice = len(ran_twice) + len(duplicated)
    if ran_twice:
        result.notes.append(f"actions started twice: executions {_ids(ran_twice)}")
    if duplicated:
        result.notes.append(f"one request, several executions: {duplicated[:SHOWN]}")
