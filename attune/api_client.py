"""The CLI's way into a running Attune: HTTP calls to its API with a bearer token.

A call that creates something (`idempotent=True`) carries a fresh `Idempotency-Key`, and
a request that got no answer (no connection, a timeout, a dropped connection, a 502, 503
or 504 from a proxy or an API without its database) is sent again with the same key: the
API answers a repeat of one it did with its first answer, so nothing runs twice. A GET is
retried the same way, with no key: reading twice changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NoReturn

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from attune.config import Settings, SettingsError
from attune.errors import AttuneError
from attune.login_file import read_login_token

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Statuses that say the request may not have reached the API, or found it unable to work.
NO_ANSWER_STATUSES = frozenset({502, 503, 504})
# The pause before each retry: four tries within about 3.5 s.
RETRY_PAUSES_SECONDS = (0.5, 1.0, 2.0)
TIMEOUT_SECONDS = 120.0


class ApiError(AttuneError):
    """The API refused a request; `message` is the API's own message."""


def api_token(settings: Settings) -> str:
    """The CLI's token, first found of: ATTUNE_API_TOKEN; the session token `attune login`
    stored (`attune.login_file`); the admin token `attune up` wrote into the data directory."""
    if settings.api_token is not None:
        return settings.api_token.get_secret_value()
    logged_in = read_login_token()
    if logged_in is not None:
        return logged_in
    path = settings.data_dir / "admin-token"
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        raise SettingsError(
            f"ATTUNE_API_TOKEN: not set, and no admin token at {path} (`attune up` writes one)"
        ) from None


def call_api(
    settings: Settings,
    method: str,
    path: str,
    body: Any = None,
    *,
    content: bytes | None = None,
    content_type: str | None = None,
    token: str | None = None,
    idempotent: bool = False,
) -> Any:
    """One API call with a JSON `body` (or raw `content`); the decoded JSON answer, or
    `ApiError` with the API's message. `token` overrides the CLI's token ("" sends none).

    `idempotent`: send an `Idempotency-Key`, and retry a request that got no answer (see
    the module docstring), as a GET always is; any other request is sent once, since a
    retry could do twice what the first did.
    """
    url = f"{settings.public_api_url}/api/v1{path}"
    # `attune login` sends no token: it is how one is got.
    headers = {"Authorization": f"Bearer {token or api_token(settings)}"} if token != "" else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    # A read is safe to send again; so is a write with its key, which the API answers once.
    pauses = RETRY_PAUSES_SECONDS if idempotent or method == "GET" else ()
    if idempotent:
        headers[IDEMPOTENCY_HEADER] = str(uuid.uuid4())  # one per operation, kept in retries
    sent: dict[str, Any] = {"content": content} if content is not None else {"json": body}
    response = _send(method, url, headers, sent, pauses)
    if response.status_code >= 400:
        _raise_for(response)
    if response.status_code == 204:
        return None  # no content: a delete
    return response.json()


def _raise_for(response: httpx.Response) -> NoReturn:
    """`ApiError` with the message of the API's error answer."""
    try:
        body = response.json()["error"]
        message, details = body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        message, details = response.text, {}
    raise ApiError(f"HTTP {response.status_code}: {message}", details=details)


def _send(
    method: str,
    url: str,
    headers: dict[str, str],
    sent: dict[str, Any],
    pauses: tuple[float, ...],
) -> httpx.Response:
    """The answer; after each pause in `pauses` the request is sent again if it got none."""
    for pause in (*pauses, None):
        try:
            response = httpx.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **sent)
        except httpx.TransportError as error:
            if pause is None:
                raise ConnectionError(f"cannot reach the Attune API at {url}: {error}") from None
        except httpx.HTTPError as error:
            raise ConnectionError(f"cannot reach the Attune API at {url}: {error}") from None
        else:
            if response.status_code not in NO_ANSWER_STATUSES or pause is None:
                return response
        time.sleep(pause)
    raise AssertionError("unreachable: the last try returns or raises")


def stream_events(settings: Settings, path: str) -> Iterator[ServerSentEvent]:
    """The Server-Sent Events of the API's `path`, until the API ends the stream.

    A connection lost midway is opened again after the last event's id (`Last-Event-ID`),
    a few times; a refusal raises `ApiError` with the API's message.
    """
    url = f"{settings.public_api_url}/api/v1{path}"
    headers = {"Authorization": f"Bearer {api_token(settings)}"}
    last_id: str | None = None
    for pause in (*RETRY_PAUSES_SECONDS, None):
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
                connect_sse(client, "GET", url, headers=headers) as source,
            ):
                if source.response.status_code >= 400:
                    source.response.read()
                    _raise_for(source.response)
                for event in source.iter_sse():
                    if event.id:
                        last_id = event.id
                    yield event
                return
        except httpx.TransportError as error:
            if pause is None:
                raise ConnectionError(f"lost the Attune API at {url}: {error}") from None
        time.sleep(pause)


def download(
    settings: Settings,
    path: str,
    target: BinaryIO,
    on_progress: Callable[[int, int | None], None] = lambda done, total: None,
) -> int:
    """Copy the bytes the API serves at `path` into `target`, calling `on_progress(done,
    total)` as they come; how many bytes. `ApiError` with the API's message on a refusal."""
    url = f"{settings.public_api_url}/api/v1{path}"
    headers = {"Authorization": f"Bearer {api_token(settings)}"}
    try:
        with httpx.stream("GET", url, headers=headers, timeout=TIMEOUT_SECONDS) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            for chunk in response.iter_bytes():
                target.write(chunk)
                done += len(chunk)
                on_progress(done, total)
            return done
    except httpx.HTTPError as error:
        raise ConnectionError(f"cannot download from the Attune API at {url}: {error}") from None
