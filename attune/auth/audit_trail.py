"""Writing the audit trail: one row per change of access, login attempt and decrypt.

Written through the caller's session, so a row exists exactly when its change was
committed; a failed login commits its row on its own (`attune.auth.login`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditRecord

IDENTITY_CREATE = "identity.create"
IDENTITY_UPDATE = "identity.update"
IDENTITY_DELETE = "identity.delete"
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
LOGIN_SUCCESS = "login.success"
LOGIN_FAILURE = "login.failure"
LOGOUT = "logout"
KEY_DECRYPT = "key.decrypt"
KEY_DECRYPT_FAILURE = "key.decrypt_failure"


async def record(
    session: AsyncSession,
    *,
    action: str,
    actor: str | None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    source: str | None = None,
) -> AuditRecord:
    """Add an audit row to the session's transaction; flushes, never commits."""
    row = AuditRecord(
        action=action, actor=actor, target=target, details=details or {}, source=source
    )
    session.add(row)
    await session.flush()
    return row
