"""CORS for the codec endpoint alone: the Web UI calls it from the browser, from its own
origin. The rest of the API answers no cross-origin request, as before."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.request_guard import route_path


class CodecCors:
    """Starlette's CORS handling for paths under `prefix`; other paths go straight through.

    It sits outside the request guard, so a preflight (which carries no token) is answered
    here, and the guard's 401s still carry the headers the browser needs to show them.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, origins: tuple[str, ...]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST", "OPTIONS"],
            # What the Web UI sends: its namespace, and a token when it passes one.
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and route_path(scope).startswith(self.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
