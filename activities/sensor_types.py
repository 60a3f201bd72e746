"""What `attune.Sensor` and its activity pass each other: a ref and counts, never state.

The sensor's state (its cursor) lives in its PostgreSQL row, written after every poll, so a
worker that takes the sensor over reads it from there, and Temporal's history stays small.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LEASE_SECONDS = 300.0
"""How long one activity runs the sensor before handing back to its workflow."""
DEFAULT_POLL_TIMEOUT_SECONDS = 300.0
"""How long `setup()` or a poll may go without a word before the sensor counts as hung."""
DEFAULT_LEASES_PER_RUN = 50
"""Leases before the workflow continues as new: about 300 history events, four hours."""


@dataclass
class SensorInput:
    """What `attune.Sensor` runs on, unchanged across continue-as-new."""

    ref: str
    # How long a silent worker may go before Temporal moves the sensor to another one.
    heartbeat_timeout_seconds: float = 30.0
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    poll_timeout_seconds: float = DEFAULT_POLL_TIMEOUT_SECONDS
    leases_per_run: int = DEFAULT_LEASES_PER_RUN


@dataclass
class SensorLease:
    """One run of `attune.run_sensor`."""

    ref: str
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    poll_timeout_seconds: float = DEFAULT_POLL_TIMEOUT_SECONDS


@dataclass
class SensorLeaseEnded:
    """How a lease ended: `keep_running` False once the sensor is disabled or deleted."""

    ref: str
    polls: int
    keep_running: bool
    reason: str
    # Seconds until the next poll is due, when that is longer than a lease: the workflow
    # waits them out on a durable timer instead of an activity sleeping past its limit.
    wait_seconds: float = 0.0
