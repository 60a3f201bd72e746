"""API tokens: persistence."""

from __future__ import annotations

from db.models import ApiToken
from db.repositories.base import Repository

repository = Repository(ApiToken, noun="API token", newest_first=True, natural_key="token_hash")
