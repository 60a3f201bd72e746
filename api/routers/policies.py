"""Policies: list, show, create, change and delete limits on an action.

After each write commits, `on_policy_changed` tells the admission engine, since a changed
limit may free slots for executions waiting in the action's queue.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError

from api.deps import ServicesDep, SessionDep
from api.policy_hooks import on_policy_changed
from api.responses import errors_of
from api.schemas.catalog import PolicyCreate, PolicyRead, PolicyUpdate
from api.schemas.pages import DEFAULT_PAGE, CatalogPage, Limit, Offset, catalog_page, present
from attune.packs.definitions import LIMIT_FIELDS, PolicyLimits, nested_limits
from db.models import Policy
from db.repositories import action as actions
from db.repositories import policy as policies

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("")
async def list_policies(
    session: SessionDep,
    limit: Limit = DEFAULT_PAGE,
    offset: Offset = 0,
    pack: str | None = None,
    action: str | None = None,
) -> CatalogPage[PolicyRead]:
    filters = present(pack_ref=pack, action_ref=action)
    rows = await policies.repository.list(session, limit=limit, offset=offset, **filters)
    return catalog_page(rows, PolicyRead.of, limit=limit, offset=offset)


@router.get("/{ref}", responses=errors_of(404))
async def get_policy(session: SessionDep, ref: str) -> PolicyRead:
    return PolicyRead.of(await policies.repository.get_by_key(session, ref))


@router.post("", status_code=201, responses=errors_of(404, 409, 413))
async def create_policy(
    session: SessionDep, services: ServicesDep, body: PolicyCreate
) -> PolicyRead:
    """Limit an action. 404 for an unknown action, 409 when the ref is taken."""
    action = await actions.repository.get_by_key(session, body.action)
    created = await policies.repository.create(
        session,
        ref=f"{action.pack_ref}.{body.name}",
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


@router.patch("/{ref}", responses=errors_of(404, 413))
async def update_policy(
    session: SessionDep, services: ServicesDep, ref: str, body: PolicyUpdate
) -> PolicyRead:
    """Change the fields given; 422 when the result would limit nothing."""
    current = await policies.repository.get_by_key(session, ref)
    given = body.model_dump(exclude_unset=True)
    changes = {name: value for name, value in given.items() if name not in LIMIT_FIELDS}
    if any(name in given for name in LIMIT_FIELDS):
        changes |= _limits(current, given).columns()
    updated = await policies.repository.update(session, id=current.id, changes=changes)
    await session.commit()
    await on_policy_changed(services, updated.action_ref)
    return PolicyRead.of(updated)


@router.delete("/{ref}", status_code=204, responses=errors_of(404))
async def delete_policy(session: SessionDep, services: ServicesDep, ref: str) -> None:
    current = await policies.repository.get_by_key(session, ref)
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
