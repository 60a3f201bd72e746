"""The codec endpoint the Temporal Web UI is pointed at, and the secret in its path.

The Web UI fetches `<endpoint>/decode` from the browser. It can send a bearer token only
when it has one of its own (an OIDC login, with "pass access token" set), which the
embedded dev server's UI never has. So the endpoint it is given carries a secret in its
path instead: derived from ATTUNE_ENCRYPTION_KEY (no row to keep, the same in every API
process), good for encoding and decoding payloads and for nothing else. Whoever can read
the Web UI's settings can read it, which is exactly who can use that Web UI: keep the UI
where only operators reach it (`attune up` binds it to 127.0.0.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from attune.config import Settings

CODEC_PATH = "/api/v1/codec"
WEB_UI_PATH = f"{CODEC_PATH}/web-ui"


def web_ui_secret(master: bytes) -> str:
    """The path secret of the Web UI's codec endpoint under this ATTUNE_ENCRYPTION_KEY."""
    digest = hmac.new(master, b"attune web ui codec endpoint", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def web_ui_codec_endpoint(settings: Settings) -> str | None:
    """The codec endpoint to configure the Web UI with; None without an encryption key."""
    master = settings.encryption_key_bytes
    if master is None:
        return None
    return f"{settings.public_api_url}{WEB_UI_PATH}/{web_ui_secret(master)}"
