"""Keys: persistence."""

from __future__ import annotations

from db.models import Key
from db.repositories.base import Repository

repository = Repository(Key, noun="key", order_by=("owner_type", "owner", "name"))
