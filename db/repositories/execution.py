"""Executions: persistence."""

from __future__ import annotations

from db.models import Execution
from db.repositories.base import Repository

repository = Repository(Execution, noun="execution", newest_first=True, natural_key="workflow_id")
