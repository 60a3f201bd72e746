"""Who is calling: the `Authorization: Bearer <token>` of every route except health."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import ServicesDep
from attune import errors
from attune.auth.tokens import authenticate, hash_token
from db.models import Identity

HOW_TO = "send Authorization: Bearer <token>"
MAX_SCHEME_ECHO = 20

# Declared only so OpenAPI (and the Authorize button of /docs) knows the scheme; the header
# is parsed below, where each kind of mistake gets its own message.
_bearer_scheme = HTTPBearer(auto_error=False, description="An Attune API token (att_...).")


async def current_identity(
    request: Request,
    services: ServicesDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Identity:
    """The identity whose token the request carries; `Unauthenticated` (401) otherwise.

    Authentication runs in a session of its own and commits there (it may stamp the token's
    `last_used_at`). Using the route's session instead would leave a transaction open on it,
    so a route's `async with session.begin():` would fail, and a route's rollback would undo
    the stamp. The identity comes back detached and fully loaded: read it freely; load it
    again in the route's session to change it.
    """
    token = bearer_token(request.headers.get("Authorization"))
    token_hash = hash_token(token)
    remembered = services.recent_tokens.get(token_hash)
    if remembered is not None:
        return remembered
    async with services.sessions() as session, session.begin():
        identity = await authenticate(session, token)
    services.recent_tokens.remember(token_hash, identity)
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
