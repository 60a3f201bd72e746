"""Triggers: list, show, and give a trigger the secret its webhooks are signed with."""

from __future__ import annotations

import secrets

from fastapi import APIRouter

from api.access import needs
from api.catalog_access import PermissionsDep, content_by_ref, visible_content
from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.schemas.catalog import TriggerRead, WebhookSecretRead
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.auth.permissions import Resource, Verb
from attune.crypto import encrypt_secret
from db.models import Trigger
from db.repositories import trigger as triggers

router = APIRouter(prefix="/triggers", tags=["triggers"])


@router.get("", responses=errors_of(403), **needs(Resource.TRIGGER, Verb.VIEW))
async def list_triggers(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
) -> CatalogPage[TriggerRead]:
    """The triggers the caller may view, in ref order, optionally those of one pack."""
    visible = visible_content(permissions, Resource.TRIGGER, Trigger)
    rows = await triggers.repository.list(
        session, limit=limit, offset=offset, where=[visible], **present(pack_ref=pack)
    )
    return catalog_page(rows, TriggerRead.of, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.TRIGGER, Verb.VIEW))
async def get_trigger(session: SessionDep, permissions: PermissionsDep, ref: str) -> TriggerRead:
    trigger = await content_by_ref(
        session, triggers.repository, ref, permissions=permissions, resource=Resource.TRIGGER
    )
    return TriggerRead.of(trigger)


@router.post(
    "/{ref}/webhook-secret",
    status_code=201,
    responses=errors_of(403, 404, 409),
    **needs(Resource.TRIGGER, Verb.MODIFY),
)
async def new_webhook_secret(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, ref: str
) -> WebhookSecretRead:
    """Generate (or replace) the trigger's webhook secret; it is shown this once only.

    Stored encrypted: a database dump alone does not let anyone sign webhooks.
    """
    trigger = await content_by_ref(
        session,
        triggers.repository,
        ref,
        permissions=permissions,
        resource=Resource.TRIGGER,
        verb=Verb.MODIFY,
    )
    secret = secrets.token_urlsafe(32)
    await triggers.repository.update(
        session,
        id=trigger.id,
        changes={"webhook_secret": encrypt_secret(services.encryption_key(), secret)},
    )
    await session.commit()
    return WebhookSecretRead(trigger=ref, secret=secret)
