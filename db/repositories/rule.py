"""Rules: persistence."""

from __future__ import annotations

from db.models import Rule
from db.repositories.base import Repository

repository = Repository(Rule, noun="rule", order_by=("ref",), natural_key="ref")
