"""Workers: persistence."""

from __future__ import annotations

from db.models import Worker
from db.repositories.base import Repository

repository = Repository(Worker, noun="worker", order_by=("name",))
