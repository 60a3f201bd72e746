"""`make chaos` in small, in `make test`: a worker SIGKILLed under load loses nothing.

A real `attune up` on private ports, 20 executions of the chaos pack in flight (plain runs,
FIFO-limited runs, inquiries), its worker killed mid-run. Runs it was running may end
`abandoned`; none may be lost, stuck or run twice, and the FIFO limit must hold.
"""

from __future__ import annotations

import pytest

from chaos.run import run_scenario
from chaos.scenarios import SCENARIOS

pytestmark = pytest.mark.timeout(150)


async def test_a_killed_worker_loses_no_execution() -> None:
    result = await run_scenario(
        SCENARIOS["kill-worker"],
        executions=20,
        deadline_s=40.0,
        # A dead worker's runs are noticed within seconds, not the default 30.
        environment={"ATTUNE_ACTION_HEARTBEAT_TIMEOUT": "5", "ATTUNE_WORKER_STICKY_TIMEOUT": "2"},
    )
    report = result.details()
    assert result.error is None, report
    assert result.acknowledged == 20, report
    assert result.recover_s is not None, report
    assert (
        result.lost,
        result.stuck,
        result.twice,
        result.fifo_violations,
        result.over_limit,
    ) == (0, 0, 0, 0, 0), report
    assert result.survivors == 0, report
