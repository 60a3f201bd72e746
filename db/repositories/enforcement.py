"""Enforcements: persistence."""

from __future__ import annotations

from db.models import Enforcement
from db.repositories.base import Repository

repository = Repository(Enforcement, noun="enforcement", newest_first=True)
