"""What the API holds for its lifetime: settings, the database engine and a Temporal client."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from attune import errors
from attune.artifacts.store import ArtifactStore, store_from
from attune.auth.recent_tokens import RecentTokens
from attune.config import Settings
from attune.engine.workflow_starts import WorkflowStarter
from attune.stream_hub import StreamHub


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Lazy: connects on first use and again after a failure, so the API starts (and reports
    # the problem through health) while Temporal is down.
    temporal: Client
    temporal_address: str
    # Its starts are bounded (`api.main.WORKFLOW_START_TIMEOUT_SECONDS`): a request never
    # waits out the client's retries against a Temporal that is down.
    starter: WorkflowStarter
    recent_tokens: RecentTokens = field(default_factory=lambda: RecentTokens(ttl=0))
    # What happens, for `GET /stream` (started in the API's lifespan).
    stream_hub: StreamHub | None = None

    def hub(self) -> StreamHub:
        """The stream hub; refused clearly in an app built without one."""
        if self.stream_hub is None:
            raise errors.ServiceUnavailable("this API process serves no event stream")
        return self.stream_hub

    @cached_property
    def artifacts(self) -> ArtifactStore:
        """Where artifact bytes are kept, and their limits (ATTUNE_ARTIFACT_*)."""
        return store_from(self.settings)

    @cached_property
    def secrets_key(self) -> bytes | None:
        """The encryption key when configured: what seals secret parameters."""
        return self.settings.encryption_key_bytes

    def encryption_key(self) -> bytes:
        """The key that encrypts secrets at rest; refused clearly when it is not configured."""
        if self.secrets_key is None:
            raise errors.Conflict(
                "ATTUNE_ENCRYPTION_KEY is not set on this API process; secrets need it"
            )
        return self.secrets_key
