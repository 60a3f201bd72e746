"""Actions: persistence."""

from __future__ import annotations

from db.models import Action
from db.repositories.base import Repository

repository = Repository(Action, noun="action", order_by=("ref",), natural_key="ref")
