"""An identity's tokens: made for automation (shown once), listed, revoked at once.

One's own tokens are one's own to make, list and revoke; another identity's need modify
on it (`identity`, ref its login).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.access import needs_unless_own
from api.auth import CurrentIdentity
from api.deps import SessionDep
from api.params import INT64_MAX
from api.responses import errors_of
from api.routers.identities import LoginPath, actor_of, check_identity
from api.schemas.identities import TokenCreate, TokenCreated, TokenRead
from api.schemas.pages import DEFAULT_PAGE, BeforeId, HistoryPage, Limit, history_page
from attune.auth import api_tokens
from attune.auth.permissions import Resource, Verb
from db.models import Identity

router = APIRouter(prefix="/identities/{login}/tokens", tags=["identities"])

TokenId = Annotated[int, Path(ge=1, le=INT64_MAX)]


OTHERS = needs_unless_own(Resource.IDENTITY, Verb.MODIFY)


def _check_tokens_of(request: Request, caller: Identity, login: str) -> None:
    if login != caller.login:
        check_identity(request, login, Verb.MODIFY)


@router.post("", status_code=201, responses=errors_of(403, 404), **OTHERS)
async def create_token(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    login: LoginPath,
    body: TokenCreate,
) -> TokenCreated:
    """A new API token of the identity. The token is in this answer only."""
    _check_tokens_of(request, caller, login)
    row, token = await api_tokens.create_token(
        session,
        login=login,
        label=body.label,
        expires_at=api_tokens.expiry(body.expires_at, body.ttl_seconds),
        actor=actor_of(request, caller),
    )
    await session.commit()
    return TokenCreated(
        id=row.id, token=token, label=row.label, expires_at=row.expires_at, created=row.created
    )


@router.get("", responses=errors_of(403, 404), **OTHERS)
async def list_tokens(
    session: SessionDep,
    caller: CurrentIdentity,
    request: Request,
    login: LoginPath,
    limit: Limit = DEFAULT_PAGE,
    before_id: BeforeId = None,
) -> HistoryPage[TokenRead]:
    """The identity's tokens (API and session), newest first; never the tokens themselves."""
    _check_tokens_of(request, caller, login)
    rows = await api_tokens.list_tokens(session, login=login, limit=limit, before_id=before_id)
    return history_page(rows, TokenRead.of, limit=limit)


@router.delete("/{id}", status_code=204, responses=errors_of(403, 404), **OTHERS)
async def revoke_token(
    session: SessionDep, caller: CurrentIdentity, request: Request, login: LoginPath, id: TokenId
) -> Response:
    """Revoke the token: refused at once by every API process."""
    _check_tokens_of(request, caller, login)
    await api_tokens.revoke_token(
        session, login=login, token_id=id, actor=actor_of(request, caller)
    )
    await session.commit()
    return Response(status_code=204)
