"""Deny by default, proven over every route of the OpenAPI document.

Every operation declares the permission it needs (`x-attune-permission`, from
`api.access.needs`). For each built-in set, and for an identity with no set at all, every
operation is called: one the set does not allow answers 403 naming the permission, one it
allows answers anything but 403. And for each permission any route needs, a set holding
exactly that one grant gets past exactly the routes that need it. Routes join the walk by
themselves, so none can be added without this proof.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.access import PERMISSION_EXTENSION
from api.main import create_app
from attune.auth.permissions import BUILT_IN, Permissions, Resource, Verb, parse_grants
from attune.config import Settings
from tests.api.streams import ENDLESS_STREAMS
from tests.conftest import api_client
from tests.db.factories import unique
from tests.identities import make_identity, make_token

# Public, or authenticated otherwise: health, login, signed webhooks.
OPEN = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/login")}
SIGNED = "/api/v1/webhooks/"
SAMPLES = {
    "{id}": "999999999",
    "{ref}": "nosuchpack.nothing",
    "{trigger_ref}": "nosuchpack.hook",
    "{scope}": "system",
    "{name}": "nosuchkey",
    "{login}": "nosuchlogin",
}
# Operations whose call changes the caller itself: a session ends, so left to their own tests.
SELF_CHANGING = {("POST", "/api/v1/auth/logout")}


def operations() -> list[tuple[str, str, Any]]:
    """(method, path with samples, the declared permission) of every operation."""
    app = create_app(Settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    found = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            key = (method.upper(), path)
            if key in OPEN or path.startswith(SIGNED) or key in SELF_CHANGING:
                continue
            filled = path
            for placeholder, value in SAMPLES.items():
                filled = filled.replace(placeholder, value)
            assert "{" not in filled, f"give {path} a sample value"
            found.append((method.upper(), filled, operation.get(PERMISSION_EXTENSION)))
    return found


OPERATIONS = operations()


def test_every_route_declares_what_it_needs() -> None:
    undeclared = [(method, path) for method, path, needed in OPERATIONS if needed is None]

    assert undeclared == []


def allowed(permissions: Permissions, needed: Any) -> bool:
    """Whether these permissions hold what the route needs, on some item at least."""
    if needed == "any token":
        return True
    return permissions.allows_some(Resource(needed["resource"]), Verb(needed["verb"]))


def answered_wrongly(permissions: Permissions, needed: Any, response: httpx.Response) -> bool:
    """A route refuses (403 naming the permission) exactly the callers without it. A route
    of one's own things (`own`: one's keys, identity, tokens) has no gate: it serves one's
    own to anyone, and checks another's item by item (404 or 403)."""
    refused = response.status_code == 403
    if isinstance(needed, dict) and needed.get("own"):
        # Lists show only one's own, writes of one's own go through: tested on their own.
        return response.status_code >= 500 or (refused and allowed(permissions, needed))
    return refused if allowed(permissions, needed) else not refused


async def call(client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    return await client.request(
        method,
        path,
        json={} if method in {"POST", "PUT", "PATCH"} else None,
        params={"seconds": 0} if path in ENDLESS_STREAMS else None,
    )


async def token_with(api: httpx.AsyncClient, sets: list[str]) -> str:
    identity = await make_identity(api, permission_sets=sets)
    token: str = (await make_token(api, identity["login"], label="matrix"))["token"]
    return token


@pytest.mark.parametrize("set_name", [*BUILT_IN, None])
async def test_each_built_in_set_gets_past_the_routes_it_allows_and_no_other(
    api: httpx.AsyncClient, settings: Settings, set_name: str | None
) -> None:
    token = await token_with(api, [set_name] if set_name else [])
    permissions = Permissions.of(BUILT_IN[set_name][1]) if set_name else Permissions()

    wrong = []
    async with api_client(settings, token=token) as client:
        for method, path, needed in OPERATIONS:
            response = await call(client, method, path)
            if answered_wrongly(permissions, needed, response):
                wrong.append((method, path, needed, response.status_code, response.text[:200]))
            elif response.status_code == 403:
                message = response.json()["error"]["message"]
                assert "permission denied: needs " in message, message
    assert wrong == []


async def test_one_grant_opens_exactly_the_routes_that_need_it(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    needs = {
        (needed["resource"], needed["verb"])
        for _, _, needed in OPERATIONS
        if isinstance(needed, dict)
    }
    wrong = []
    for resource, verb in sorted(needs):
        name = unique("only")
        grants = [{"resource": resource, "verbs": [verb]}]
        created = await api.post("/api/v1/permission-sets", json={"name": name, "grants": grants})
        assert created.status_code == 201, created.text
        permissions = Permissions.of(parse_grants(grants))
        token = await token_with(api, [name])
        async with api_client(settings, token=token) as client:
            for method, path, needed in OPERATIONS:
                response = await call(client, method, path)
                if answered_wrongly(permissions, needed, response):
                    wrong.append((resource, verb, method, path, response.status_code))
    assert wrong == []
