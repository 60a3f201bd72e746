"""Events: persistence."""

from __future__ import annotations

from db.models import Event
from db.repositories.base import Repository

repository = Repository(Event, noun="event", newest_first=True)
