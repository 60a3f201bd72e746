"""Policies: persistence."""

from __future__ import annotations

from db.models import Policy
from db.repositories.base import Repository

repository = Repository(Policy, noun="policy", order_by=("ref",), natural_key="ref")
