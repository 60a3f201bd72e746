"""Admission queue statistics, as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class QueueStatsRead(BaseModel):
    """One action's admission queue; the counters change in the same transaction as the rows.

    `total_enqueued` = `queue_length` + `active_count` + `total_completed`.
    """

    action: str
    limit: int | None = Field(description="The concurrency limit now in force; null if none.")
    queue_length: int = Field(description="Executions waiting for a slot.")
    active_count: int = Field(description="Executions holding a slot.")
    oldest_enqueued_at: datetime | None = Field(
        description="When the longest-waiting execution was written."
    )
    total_enqueued: int = Field(description="Executions ever admitted through this queue.")
    total_completed: int = Field(
        description="Executions that gave their slot (or their place) back."
    )
