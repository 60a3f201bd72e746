"""Queue statistics: persistence."""

from __future__ import annotations

from db.models import QueueStats
from db.repositories.base import Repository

repository = Repository(QueueStats, noun="queue statistics", order_by=("action_id",))
