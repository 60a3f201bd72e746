"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from temporalio.client import Client

from api.access_log import redact_codec_secret
from api.auth import current_identity
from api.codec_cors import CodecCors
from api.errors import install_error_handlers
from api.request_guard import GuardRules, RequestGuard
from api.responses import AUTHENTICATED_ERRORS
from api.routers import (
    actions,
    api_tokens,
    artifacts,
    audit,
    codec,
    enforcements,
    events,
    execution_output,
    executions,
    health,
    identities,
    inquiries,
    keys,
    packs,
    permission_sets,
    policies,
    rules,
    sensors,
    sessions,
    stream,
    triggers,
    webhooks,
    workers,
)
from api.services import Services
from attune.auth.recent_tokens import RecentTokens
from attune.auth.revocation import RevocationListener
from attune.auth.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from attune.config import Settings, get_settings, required_database_url, temporal_target
from attune.engine.workflow_starts import WorkflowStarter
from attune.stream_hub import StreamHub
from attune.temporal_setup import data_converter_for
from attune.web_ui_codec import CODEC_PATH, web_ui_codec_endpoint
from db.engine import create_engine, create_session_factory

API_PREFIX = "/api/v1"
FORM_ROOM = 1024 * 1024
# A caller waits for the workflow starts of what it created: this long at most, then the
# answer goes out with the executions `requested`, for a worker's reconciler to start.
WORKFLOW_START_TIMEOUT_SECONDS = 1.0
# A PostgreSQL that drops packets rather than refusing is an error this soon, not a hang.
DATABASE_CONNECT_TIMEOUT_SECONDS = 3.0
CODEC_VERBS = ("decode", "encode")
CODEC_LIMIT_BYTES = 8 * 1_048_576


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; resources open in the lifespan so importing this module stays cheap."""
    settings = settings or get_settings()
    database_url = required_database_url(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Here, after uvicorn has configured its loggers.
        redact_codec_secret()
        engine = create_engine(database_url, connect_timeout=DATABASE_CONNECT_TIMEOUT_SECONDS)
        address = temporal_target(settings)
        temporal = await Client.connect(
            address,
            namespace=settings.temporal_namespace,
            lazy=True,
            data_converter=data_converter_for(settings),
        )
        recent_tokens = RecentTokens(ttl=settings.token_cache_seconds)
        listener = RevocationListener(database_url, recent_tokens)
        await listener.start()
        stream_hub = StreamHub(database_url)
        await stream_hub.start()
        app.state.services = Services(
            settings=settings,
            engine=engine,
            sessions=create_session_factory(engine),
            temporal=temporal,
            temporal_address=address,
            starter=WorkflowStarter.from_settings(
                temporal, settings, start_timeout_seconds=WORKFLOW_START_TIMEOUT_SECONDS
            ),
            recent_tokens=recent_tokens,
            stream_hub=stream_hub,
        )
        try:
            yield
        finally:
            await stream_hub.stop()
            await listener.stop()
            await engine.dispose()

    app = FastAPI(
        title="Attune",
        summary="Event-driven automation on Temporal",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestGuard, rules=guard_rules(settings))
    # Added last, so outermost: a preflight is answered before the guard asks for a token.
    app.add_middleware(CodecCors, prefix=CODEC_PATH, origins=settings.codec_origins)
    app.include_router(health.router, prefix=API_PREFIX)
    # The Web UI's codec endpoint authenticates by the secret in its path.
    app.include_router(codec.web_ui_router, prefix=API_PREFIX)
    # Webhooks authenticate on their own terms: a bearer token or a signed body.
    app.include_router(webhooks.router, prefix=API_PREFIX)
    # Login is how a person gets a token: it takes a password instead.
    app.include_router(sessions.public_router, prefix=API_PREFIX)
    authenticated = [Depends(current_identity)]
    for resource in (
        packs,
        actions,
        triggers,
        rules,
        sensors,
        policies,
        events,
        enforcements,
        executions,
        execution_output,
        artifacts,
        inquiries,
        keys,
        codec,
        sessions,
        identities,
        api_tokens,
        permission_sets,
        audit,
        workers,
        stream,
    ):
        app.include_router(
            resource.router,
            prefix=API_PREFIX,
            dependencies=authenticated,
            responses=AUTHENTICATED_ERRORS,
        )
    return app


def guard_rules(settings: Settings) -> GuardRules:
    """What the request guard lets through unauthenticated, and how much body it reads."""
    web_ui_codec = web_ui_codec_endpoint(settings)
    web_ui_paths = (
        {web_ui_codec.removeprefix(settings.public_api_url) + f"/{verb}" for verb in CODEC_VERBS}
        if web_ui_codec
        else set()
    )
    codec_paths = {f"{CODEC_PATH}/{verb}" for verb in CODEC_VERBS} | web_ui_paths
    return GuardRules(
        prefix=f"{API_PREFIX}/",
        public_paths=frozenset(
            {f"{API_PREFIX}/health", f"{API_PREFIX}{sessions.LOGIN_PATH}", *web_ui_paths}
        ),
        signed_prefixes=(f"{API_PREFIX}/webhooks/",),
        signature_headers=(TIMESTAMP_HEADER, SIGNATURE_HEADER),
        max_body_bytes=settings.max_body_bytes,
        raw_body_limits={f"{API_PREFIX}/packs{packs.UPLOAD_PATH}": packs.UPLOAD_LIMIT_BYTES},
        # An artifact's file, and room for the form around it.
        form_body_limits={f"{API_PREFIX}/artifacts": settings.artifact_max_bytes + FORM_ROOM},
        # A history's payloads may be as large as Temporal allows (2 MB each).
        json_body_limits=dict.fromkeys(codec_paths, CODEC_LIMIT_BYTES),
    )
