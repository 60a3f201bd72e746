"""Who may see and act on an execution, and on the inquiries it asks (D6).

An execution belongs to the pack of the action it runs (`action_ref`'s pack part, kept
even after the action is deleted), and its ref in a grant is its id as a string: an
execution token's grant names its own execution so. An inquiry is its execution's: its
pack is the execution's pack, and its ref its own id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, select, true

from api.access import check_item, visible_clause
from attune.auth.permissions import Permissions, Resource, Verb
from db.models import Execution, Inquiry


def pack_of(ref: str) -> str:
    """The pack part of a `pack.name` ref (a pack's ref has no dots)."""
    return ref.partition(".")[0]


def _pack_column(action_ref: Any) -> ColumnElement[str]:
    return func.split_part(action_ref, ".", 1)


def check_execution(permissions: Permissions, execution: Execution, verb: Verb) -> None:
    """404 for an execution the caller may not view, 403 when it may not do `verb`."""
    check_item(
        permissions,
        Resource.EXECUTION,
        verb,
        pack=pack_of(execution.action_ref),
        ref=str(execution.id),
        noun=f"execution {execution.id}",
    )


def visible_executions(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the executions the caller may view."""
    return visible_clause(
        permissions.visibility(Resource.EXECUTION),
        pack=_pack_column(Execution.action_ref),
        ref=cast(Execution.id, String),
    )


def check_inquiry(
    permissions: Permissions, inquiry: Inquiry, execution: Execution, verb: Verb
) -> None:
    """404 for an inquiry the caller may not view, 403 when it may not do `verb`."""
    check_item(
        permissions,
        Resource.INQUIRY,
        verb,
        pack=pack_of(execution.action_ref),
        ref=str(inquiry.id),
        noun=f"inquiry {inquiry.id}",
    )


def visible_inquiries(permissions: Permissions) -> ColumnElement[bool]:
    """The WHERE clause keeping the inquiries the caller may view, by their execution's pack."""
    visibility = permissions.visibility(Resource.INQUIRY)
    if visibility.everything:
        return true()
    by_pack = visible_clause(visibility, pack=_pack_column(Execution.action_ref), ref=None)
    of_visible_packs = Inquiry.execution_id.in_(select(Execution.id).where(by_pack))
    by_ref = visible_clause(visibility, pack=None, ref=cast(Inquiry.id, String))
    return of_visible_packs | by_ref
