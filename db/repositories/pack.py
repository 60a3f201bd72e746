"""Packs: persistence."""

from __future__ import annotations

from db.models import Pack
from db.repositories.base import Repository

repository = Repository(Pack, noun="pack", order_by=("ref",), natural_key="ref")
