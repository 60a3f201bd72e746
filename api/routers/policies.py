"""Policies: list, show, create, change and delete limits on an action.

After each write commits, `on_policy_changed` tells the admission engine, since a changed
limit may free slots for executions waiting in the action's queue.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError

from api.access import needs
from api.catalog_access import PermissionsDep, content_by_ref, visible_content
from api.deps import ServicesDep, SessionDep
from api.policy_hooks import on_policy_changed
from api.responses import errors_of
from api.schemas.catalog import PolicyCreate, PolicyRead, PolicyUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.auth.permissions import Resource, Verb, missing
from attune.packs.definitions import LIMIT_FIELDS, PolicyLimits, nested_limits
from db.models import Policy
from db.repositories import action as actions
from db.repositories import policy as policies

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("", responses=errors_of(403), **needs(Resource.POLICY, Verb.VIEW))
async def list_policies(
    session: SessionDep,
    permissions: PermissionsDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
    action: str | None = None,
) -> CatalogPage[PolicyRead]:
    """The policies the caller may view, in ref order, optionally of one pack or action."""
    filters = present(pack_ref=pack, action_ref=action)
    visible = visible_content(permissions, Resource.POLICY, Policy)
    rows = await policies.repository.list(
        session, limit=limit, offset=offset, where=[visible], **filters
    )
    return catalog_page(rows, PolicyRead.of, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(403, 404), **needs(Resource.POLICY, Verb.VIEW))
async def get_policy(session: SessionDep, permissions: PermissionsDep, ref: str) -> PolicyRead:
    policy = await content_by_ref(
        session, policies.repository, ref, permissions=permissions, resource=Resource.POLICY
    )
    return PolicyRead.of(policy)


@router.post(
    "",
    status_code=201,
    responses=errors_of(403, 404, 409, 413),
    **needs(Resource.POLICY, Verb.CREATE),
)
async def create_policy(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, body: PolicyCreate
) -> PolicyRead:
    """Limit an action. 404 for an unknown action (or one the caller may not view), 409
    when the ref is taken; needs create on policy in the action's pack."""
    action = await content_by_ref(
        session, actions.repository, body.action, permissions=permissions, resource=Resource.ACTION
    )
    ref = f"{action.pack_ref}.{body.name}"
    if not permissions.allows(Resource.POLICY, Verb.CREATE, pack=action.pack_ref, ref=ref):
        raise missing(Resource.POLICY, Verb.CREATE, ref=ref)
    created = await policies.repository.create(
        session,
        ref=ref,
        pack_id=action.pack_id,
        pack_ref=action.pack_ref,
        name=body.name,
        action_id=action.id,
        action_ref=action.ref,
        enabled=body.enabled,
        label=body.label,
        description=body.description,
        **body.columns(),
    )
    await session.commit()
    await on_policy_changed(services, created.action_ref)
    return PolicyRead.of(created)


@router.patch("/{ref}", responses=errors_of(403, 404, 413), **needs(Resource.POLICY, Verb.MODIFY))
async def update_policy(
    session: SessionDep,
    services: ServicesDep,
    permissions: PermissionsDep,
    ref: str,
    body: PolicyUpdate,
) -> PolicyRead:
    """Change the fields given; 422 when the result would limit nothing."""
    current = await content_by_ref(
        session,
        policies.repository,
        ref,
        permissions=permissions,
        resource=Resource.POLICY,
        verb=Verb.MODIFY,
    )
    given = body.model_dump(exclude_unset=True)
    changes = {name: value for name, value in given.items() if name not in LIMIT_FIELDS}
    if any(name in given for name in LIMIT_FIELDS):
        changes |= _limits(current, given).columns()
    updated = await policies.repository.update(session, id=current.id, changes=changes)
    await session.commit()
    await on_policy_changed(services, updated.action_ref)
    return PolicyRead.of(updated)


@router.delete(
    "/{ref}", status_code=204, responses=errors_of(403, 404), **needs(Resource.POLICY, Verb.DELETE)
)
async def delete_policy(
    session: SessionDep, services: ServicesDep, permissions: PermissionsDep, ref: str
) -> None:
    current = await content_by_ref(
        session,
        policies.repository,
        ref,
        permissions=permissions,
        resource=Resource.POLICY,
        verb=Verb.DELETE,
    )
    await policies.repository.delete(session, id=current.id)
    await session.commit()
    await on_policy_changed(services, current.action_ref)


def _limits(current: Policy, given: dict[str, Any]) -> PolicyLimits:
    """The policy's limits with the given ones replacing its own, checked as a whole."""
    wanted = nested_limits(current) | {name: given[name] for name in LIMIT_FIELDS if name in given}
    try:
        return PolicyLimits.model_validate(wanted)
    except PydanticValidationError as error:
        # Reported like any other problem with the request body, naming the field.
        raise RequestValidationError(
            [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
        ) from None
