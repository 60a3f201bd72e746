"""Permission assignments: persistence."""

from __future__ import annotations

from db.models import PermissionAssignment
from db.repositories.base import Repository

repository = Repository(
    PermissionAssignment,
    noun="permission assignment",
    order_by=("identity_id", "permission_set_id"),
)
