"""What the API holds for its lifetime: settings, the database engine and a Temporal client."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from attune.config import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Lazy: connects on first use and again after a failure, so the API starts (and reports
    # the problem through health) while Temporal is down.
    temporal: Client
    temporal_address: str
