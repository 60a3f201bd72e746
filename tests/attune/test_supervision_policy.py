"""The restart policy's arithmetic: delays that double, reset after a healthy run, and a limit."""

from __future__ import annotations

import pytest

from attune.supervision.restart_policy import (
    CRASH_LOOP_RESTARTS,
    CRASH_LOOP_WINDOW_SECONDS,
    HEALTHY_RUN_SECONDS,
    MAX_RESTART_DELAY_SECONDS,
    CrashLoop,
    RestartPolicy,
)


def test_quick_failures_double_the_delay_up_to_the_cap() -> None:
    policy = RestartPolicy("API")
    # Spread out so the crash-loop window never fills: only the delay is under test.
    delays = [
        policy.delay_after_exit(ran_for=1, now=step * CRASH_LOOP_WINDOW_SECONDS)
        for step in range(8)
    ]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert max(delays) == MAX_RESTART_DELAY_SECONDS


def test_a_healthy_run_starts_the_delays_over() -> None:
    policy = RestartPolicy("worker")
    assert policy.delay_after_exit(ran_for=1, now=0) == 1
    assert policy.delay_after_exit(ran_for=1, now=10) == 2
    assert policy.delay_after_exit(ran_for=HEALTHY_RUN_SECONDS, now=80) == 1


def test_a_configured_first_delay_doubles_from_there_and_is_where_a_healthy_run_resets() -> None:
    policy = RestartPolicy("worker", first_delay=0.25)
    assert [policy.delay_after_exit(ran_for=1, now=step) for step in range(3)] == [0.25, 0.5, 1]
    assert policy.delay_after_exit(ran_for=HEALTHY_RUN_SECONDS, now=90) == 0.25


def test_too_many_restarts_within_the_window_is_a_crash_loop() -> None:
    policy = RestartPolicy("Temporal")
    for second in range(CRASH_LOOP_RESTARTS):
        policy.delay_after_exit(ran_for=0, now=second)
    with pytest.raises(CrashLoop, match="Temporal ended again after 5 restarts within 120s"):
        policy.delay_after_exit(ran_for=0, now=CRASH_LOOP_RESTARTS)


def test_restarts_older_than_the_window_no_longer_count() -> None:
    policy = RestartPolicy("PostgreSQL")
    for second in range(CRASH_LOOP_RESTARTS):
        policy.delay_after_exit(ran_for=0, now=second)
    assert policy.delay_after_exit(ran_for=0, now=CRASH_LOOP_WINDOW_SECONDS + 0.5) > 0
