"""Inquiries: persistence."""

from __future__ import annotations

from db.models import Inquiry
from db.repositories.base import Repository

repository = Repository(Inquiry, noun="inquiry", newest_first=True)
