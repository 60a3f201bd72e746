"""Notifications: persistence."""

from __future__ import annotations

from db.models import Notification
from db.repositories.base import Repository

repository = Repository(Notification, noun="notification", newest_first=True)
