"""Who is calling: the `Authorization: Bearer <token>` of every route but health and webhooks.

The token is checked by the request guard (`api.request_guard`) before the body is read,
so a stranger's request costs no more than its headers; routes get the identity it found
through the `CurrentIdentity` dependency.

Two kinds of token: an identity's API token (`att_...`), and an execution token
(`attx_...`, `attune.auth.execution_tokens`) that a running action holds. The guard
lets an execution token reach only the few routes it may use; those routes see a
transient identity named for the execution (`execution:<id>`, never stored, no `id`),
and `request_execution_grant` tells them which execution it is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import Scope

from api.services import Services
from attune import errors
from attune.auth.execution_tokens import (
    ExecutionGrant,
    authenticate_execution_token,
    is_execution_token,
)
from attune.auth.grants_of import permissions_of
from attune.auth.recent_tokens import Trusted
from attune.auth.tokens import authenticate, hash_token
from db.models import Identity

HOW_TO = "send Authorization: Bearer <token>"
MAX_SCHEME_ECHO = 20
IDENTITY_SCOPE_KEY = "attune.identity"
"""Where the guard leaves the authenticated identity in the ASGI scope."""
PERMISSIONS_SCOPE_KEY = "attune.permissions"
"""Where the guard leaves the caller's permissions (`api.access` reads them)."""
EXECUTION_GRANT_SCOPE_KEY = "attune.execution_grant"
"""Where the guard leaves the grant of an execution token, beside its transient identity."""

Caller = Trusted | ExecutionGrant
"""Whoever a bearer token names: an identity (with its permissions), or a running execution."""

# Declared only so OpenAPI (and the Authorize button of /docs) knows the scheme; the header
# is parsed by `bearer_token`, where each kind of mistake gets its own message.
_bearer_scheme = HTTPBearer(auto_error=False, description="An Attune API token (att_...).")


async def authenticate_header(services: Services, header: str | None) -> Caller:
    """The identity whose token `header` carries, or the grant of an execution token;
    `Unauthenticated` (401) otherwise.

    Authentication runs in a session of its own and commits there (it may stamp the token's
    `last_used_at`), so a route's own transaction is untouched. The identity comes back
    detached and fully loaded: read it freely; load it again in a session to change it.
    An execution token is never remembered: its execution's status is read every time.
    """
    token = bearer_token(header)
    if is_execution_token(token):
        async with services.sessions() as session:
            return await authenticate_execution_token(
                session, token, key_ring=services.settings.encryption_key_ring
            )
    token_hash = hash_token(token)
    remembered = services.recent_tokens.get(token_hash)
    if remembered is not None:
        return remembered
    generation = services.recent_tokens.generation
    async with services.sessions() as session, session.begin():
        identity = await authenticate(session, token)
        trusted = Trusted(identity, await permissions_of(session, identity.id))
    services.recent_tokens.remember(token_hash, trusted, generation=generation)
    return trusted


def remember_caller(scope: Scope, caller: Caller) -> None:
    """Leave the caller and its permissions in the ASGI scope for the routes (the guard
    calls this)."""
    if isinstance(caller, ExecutionGrant):
        scope[EXECUTION_GRANT_SCOPE_KEY] = caller
        scope[IDENTITY_SCOPE_KEY] = Identity(
            login=f"execution:{caller.execution_id}",
            display_name=f"the token of execution {caller.execution_id}",
            attributes={},
            frozen=False,
        )
        scope[PERMISSIONS_SCOPE_KEY] = caller.permissions()
        return
    scope[IDENTITY_SCOPE_KEY] = caller.identity
    scope[PERMISSIONS_SCOPE_KEY] = caller.permissions


def request_execution_grant(request: Request) -> ExecutionGrant | None:
    """The execution whose token authenticated this request, if an execution token did."""
    grant: ExecutionGrant | None = request.scope.get(EXECUTION_GRANT_SCOPE_KEY)
    return grant


def request_identity(request: Request) -> Identity | None:
    """The identity the guard authenticated for this request, if it carried a token."""
    identity: Identity | None = request.scope.get(IDENTITY_SCOPE_KEY)
    return identity


async def current_identity(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Identity:
    """The caller; fails closed (401) if the guard did not authenticate this request."""
    identity = request_identity(request)
    if identity is None:
        raise errors.Unauthenticated(f"missing bearer token: {HOW_TO}")
    return identity


def bearer_token(header: str | None) -> str:
    """The token of a `Bearer <token>` header value; `Unauthenticated` naming the fault."""
    if header is None or not header.strip():
        raise errors.Unauthenticated(f"missing bearer token: {HOW_TO}")
    scheme, space, token = header.strip().partition(" ")
    # RFC 9110: the scheme name is case-insensitive.
    if scheme.lower() != "bearer":
        # A bare token (the scheme forgotten) must not be echoed back into a response or log.
        named = f" {scheme!r}" if space and len(scheme) <= MAX_SCHEME_ECHO else ""
        raise errors.Unauthenticated(f"unsupported authorization scheme{named}: {HOW_TO}")
    token = token.strip()
    if not token:
        raise errors.Unauthenticated(f"empty bearer token: {HOW_TO}")
    return token


CurrentIdentity = Annotated[Identity, Depends(current_identity)]
