"""Triggers: persistence."""

from __future__ import annotations

from db.models import Trigger
from db.repositories.base import Repository

repository = Repository(Trigger, noun="trigger", order_by=("ref",), natural_key="ref")
