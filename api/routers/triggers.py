"""Triggers: list, show, and give a trigger the secret its webhooks are signed with."""

from __future__ import annotations

import secrets

from fastapi import APIRouter

from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.schemas.catalog import TriggerRead, WebhookSecretRead
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.crypto import encrypt_secret
from db.repositories import trigger as triggers

router = APIRouter(prefix="/triggers", tags=["triggers"])


@router.get("")
async def list_triggers(
    session: SessionDep, limit: Limit = DEFAULT_PAGE, offset: Offset = 0, pack: str | None = None
) -> CatalogPage[TriggerRead]:
    rows = await triggers.repository.list(
        session, limit=limit, offset=offset, **present(pack_ref=pack)
    )
    return catalog_page(rows, TriggerRead.of, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(404))
async def get_trigger(session: SessionDep, ref: str) -> TriggerRead:
    return TriggerRead.of(await triggers.repository.get_by_key(session, ref))


@router.post("/{ref}/webhook-secret", status_code=201, responses=errors_of(404, 409))
async def new_webhook_secret(
    session: SessionDep, services: ServicesDep, ref: str
) -> WebhookSecretRead:
    """Generate (or replace) the trigger's webhook secret; it is shown this once only.

    Stored encrypted: a database dump alone does not let anyone sign webhooks.
    """
    trigger = await triggers.repository.get_by_key(session, ref)
    secret = secrets.token_urlsafe(32)
    await triggers.repository.update(
        session,
        id=trigger.id,
        changes={"webhook_secret": encrypt_secret(services.encryption_key(), secret)},
    )
    await session.commit()
    return WebhookSecretRead(trigger=ref, secret=secret)
