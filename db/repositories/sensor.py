"""Sensors: persistence."""

from __future__ import annotations

from db.models import Sensor
from db.repositories.base import Repository

repository = Repository(Sensor, noun="sensor", order_by=("ref",), natural_key="ref")
