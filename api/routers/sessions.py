"""Password login and logout, and who the caller is.

`POST /auth/login` is public (the request guard lists it); it answers a wrong login and a
wrong password alike, and 429 while a guesser must wait. `GET /whoami` answers any valid
token, whatever its permission sets.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.access import any_token
from api.auth import CurrentIdentity, bearer_token
from api.deps import ServicesDep, SessionDep
from api.responses import errors_of
from api.routers.identities import actor_of
from api.schemas.identities import LoginRequest, PermissionSetRead, SessionToken, WhoAmI
from attune.auth import api_tokens, login
from db.repositories import permission_set

LOGIN_PATH = "/auth/login"
public_router = APIRouter(tags=["auth"])
router = APIRouter(tags=["auth"])


# 400: the guard checks no public body, so FastAPI itself refuses a body not UTF-8.
@public_router.post(LOGIN_PATH, responses=errors_of(400, 401, 422, 429, 503))
async def log_in(
    session: SessionDep, services: ServicesDep, request: Request, body: LoginRequest
) -> SessionToken:
    """A session token for a login and password, expiring after ATTUNE_SESSION_TTL_SECONDS."""
    outcome = await login.log_in(
        session,
        login=body.login,
        password=body.password,
        source=request.client.host if request.client else None,
        ttl_seconds=services.settings.session_ttl_seconds,
    )
    # A refusal's audit row and failure count are kept: commit, then refuse.
    await session.commit()
    if outcome.refusal is not None:
        raise outcome.refusal
    assert outcome.token is not None
    assert outcome.expires_at is not None
    return SessionToken(token=outcome.token, expires_at=outcome.expires_at)


@router.post("/auth/logout", status_code=204, responses=errors_of(409), **any_token())
async def log_out(session: SessionDep, caller: CurrentIdentity, request: Request) -> Response:
    """Revoke the session token this request carries (409 for an API token)."""
    token = bearer_token(request.headers.get("authorization"))
    await api_tokens.log_out(session, token=token, actor=actor_of(request, caller))
    await session.commit()
    return Response(status_code=204)


@router.get("/whoami", **any_token())
async def who_am_i(session: SessionDep, caller: CurrentIdentity) -> WhoAmI:
    """The caller's identity and the grants of its permission sets."""
    held = (
        await permission_set.list_for_identity(session, identity_id=caller.id)
        if caller.id is not None
        else []
    )
    return WhoAmI(
        login=caller.login,
        display_name=caller.display_name,
        enabled=not caller.frozen,
        permission_sets=[PermissionSetRead.of(row) for row in held],
    )
