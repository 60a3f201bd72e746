"""Runtimes: persistence."""

from __future__ import annotations

from db.models import Runtime
from db.repositories.base import Repository

repository = Repository(Runtime, noun="runtime", order_by=("ref",), natural_key="ref")
