"""Artifacts: persistence."""

from __future__ import annotations

from db.models import Artifact
from db.repositories.base import Repository

repository = Repository(Artifact, noun="artifact", newest_first=True)
