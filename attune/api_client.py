"""The CLI's way into a running Attune: HTTP calls to its API with a bearer token."""

from __future__ import annotations

from typing import Any

import httpx

from attune.config import Settings, SettingsError
from attune.errors import AttuneError
from attune.login_file import read_login_token


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
) -> Any:
    """One API call with a JSON `body` (or raw `content`); the decoded JSON answer, or
    `ApiError` with the API's message. `token` overrides the CLI's token ("" sends none)."""
    url = f"{settings.public_api_url}/api/v1{path}"
    # `attune login` sends no token: it is how one is got.
    headers = {"Authorization": f"Bearer {token or api_token(settings)}"} if token != "" else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    sent: dict[str, Any] = {"content": content} if content is not None else {"json": body}
    try:
        response = httpx.request(method, url, headers=headers, timeout=120.0, **sent)
    except httpx.HTTPError as error:
        raise ConnectionError(f"cannot reach the Attune API at {url}: {error}") from None
    if response.status_code >= 400:
        try:
            body = response.json()["error"]
            message, details = body["message"], body.get("details") or {}
        except (ValueError, KeyError, TypeError):
            message, details = response.text, {}
        raise ApiError(f"HTTP {response.status_code}: {message}", details=details)
    if response.status_code == 204:
        return None  # no content: a delete
    return response.json()
