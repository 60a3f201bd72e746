"""Permission sets: persistence."""

from __future__ import annotations

from db.models import PermissionSet
from db.repositories.base import Repository

repository = Repository(PermissionSet, noun="permission set", order_by=("ref",), natural_key="ref")
