"""Every request is authenticated and bounded before its body is read.

FastAPI parses a route's body before it runs the route's dependencies, so a token checked
by a dependency comes too late: a stranger's 1 GiB body would be buffered (and parsed)
before the 401. This ASGI middleware runs first. In order, for each request under the
API prefix:

1. a NUL character in the path or the query is a 422 naming it (PostgreSQL cannot compare
   text holding one);
2. a declared `Content-Length` over the route's limit is a 413 at once;
3. the caller is authenticated from the `Authorization` header alone: a bearer token on
   every route but the public ones. Webhook routes also take a signed body instead, which
   the route itself verifies, since the signature covers the body; a webhook with neither
   a token nor a signature is a 401 before any byte of its body is read. An execution
   token (an action's own, `attune.auth.execution_tokens`) is a 403 on every request but
   the few it may make;
4. the body is read up to the route's limit, and no further (a 413 beyond it);
5. a JSON body of an authenticated route is checked (`attune.json_limits`): not UTF-8,
   nested too deep, or holding text PostgreSQL cannot store, it is a 422 naming the field.

Deny by default: a route under the prefix is authenticated unless named public here.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import authenticate_header, remember_caller
from api.errors import domain_error_response
from api.services import Services
from attune import errors
from attune.auth.execution_tokens import ExecutionGrant
from attune.excerpts import field_name
from attune.json_limits import MalformedJson, loads_checked, needs_walk

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_UPLOAD_SCOPE_KEY = "attune.form_upload"
"""Where the guard says whether it let the body in as a multipart form (`form_body_limits`)."""
# ASCII digits only: str.isdigit() also takes "¹", which int() refuses.
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class GuardRules:
    """Which routes are public, which may authenticate by signature, and their body limits."""

    prefix: str
    public_paths: frozenset[str]
    signed_prefixes: tuple[str, ...]
    signature_headers: tuple[str, ...]
    max_body_bytes: int
    # Routes whose body is not JSON and has a limit of its own (pack archives).
    raw_body_limits: Mapping[str, int]
    # Routes whose JSON body has a limit of its own (the codec's payloads).
    json_body_limits: Mapping[str, int] = field(default_factory=dict)
    # Routes that also take a multipart form (an artifact's file), up to their own limit;
    # a JSON body there is bounded and checked as anywhere else.
    form_body_limits: Mapping[str, int] = field(default_factory=dict)

    def body_limit(self, path: str, *, form: bool = False) -> int:
        if form and path in self.form_body_limits:
            return self.form_body_limits[path]
        return self.raw_body_limits.get(path, self.json_body_limits.get(path, self.max_body_bytes))

    def is_form_upload(self, path: str, content_type: str) -> bool:
        return path in self.form_body_limits and content_type.lower().startswith(
            "multipart/form-data"
        )


class RequestGuard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, rules: GuardRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not route_path(scope).startswith(self.rules.prefix):
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._admit(scope, receive)
        except errors.AttuneError as error:
            await domain_error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> Receive:
        """Check the request; the `receive` the app must read its body through."""
        path = route_path(scope)
        public = path in self.rules.public_paths
        if not public:
            _refuse_nul(scope)
        headers = _headers(scope)
        form = self.rules.is_form_upload(path, headers.get("content-type", ""))
        # The route reads the body as the guard judged it (a repeated Content-Type must not
        # pass the guard as a form and reach the route as unchecked JSON).
        scope[FORM_UPLOAD_SCOPE_KEY] = form
        limit = self.rules.body_limit(path, form=form)
        declared = headers.get("content-length", "")
        if _DIGITS.fullmatch(declared) and int(declared) > limit:
            raise _too_large(limit)
        if public:
            return _bounded(receive, limit)
        signed = path.startswith(self.rules.signed_prefixes)
        authorization = headers.get("authorization")
        if authorization is not None or not signed:
            services: Services = scope["app"].state.services
            caller = await authenticate_header(services, authorization)
            if isinstance(caller, ExecutionGrant):
                route = path[len(self.rules.prefix) - 1 :]  # "/executions/42"
                query = scope.get("query_string", b"").decode("latin-1")
                caller.check_request(scope["method"], route, query)
            remember_caller(scope, caller)
        elif not any(name.lower() in headers for name in self.rules.signature_headers):
            raise errors.Unauthenticated(
                "missing credentials: send Authorization: Bearer <token>, or sign the "
                f"delivery ({' and '.join(self.rules.signature_headers)})"
            )
        bounded = _bounded(receive, limit)
        raw = signed or form or path in self.rules.raw_body_limits
        if raw or scope["method"] not in BODY_METHODS:
            return bounded
        body = await _read_all(bounded)
        if body:
            _check_json_body(body)
        return _replay(body, receive)


def route_path(scope: Scope) -> str:
    """The path the router matches: without the `root_path` a proxy mounts the API under
    (`uvicorn --root-path`), which the ASGI scope's `path` includes."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _refuse_nul(scope: Scope) -> None:
    if "\x00" in scope["path"]:
        raise errors.ValidationError(
            "path: contains a NUL character (%00)", details={"field": "path"}
        )
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                field = f"query.{field_name(name)}"
                raise errors.ValidationError(
                    f"{field}: contains a NUL character (%00)", details={"field": field}
                )


def _check_json_body(body: bytes) -> None:
    """Refuse a body that is not UTF-8, or JSON too deep or unstorable; leave malformed JSON
    to FastAPI, which names the position of the mistake."""
    # RFC 8259: JSON between systems is UTF-8. FastAPI would read a body starting with NUL
    # bytes as UTF-16 or UTF-32 and, failing, answer a bare 400.
    try:
        body.decode("utf-8")
        utf8 = json.detect_encoding(body) in ("utf-8", "utf-8-sig")
        where = ""
    except UnicodeDecodeError as error:
        utf8, where = False, f" ({error.reason} at byte {error.start})"
    if not utf8:
        raise errors.ValidationError(
            f"body: not UTF-8 text, as JSON must be{where}", details={"field": "body"}
        )
    if needs_walk(body):
        with contextlib.suppress(MalformedJson):
            loads_checked(body, field="body")


def _too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"the request body is larger than the {limit} bytes this route accepts",
        details={"limit_bytes": limit},
    )


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `PayloadTooLarge` as soon as the body passes `limit` bytes."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return bounded


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then waits as the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
