"""Identities: persistence."""

from __future__ import annotations

from db.models import Identity
from db.repositories.base import Repository

repository = Repository(Identity, noun="identity", order_by=("login",), natural_key="login")
