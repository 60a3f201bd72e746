"""Every failure answers in the one error shape, even a bug or an unreachable Temporal."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api.errors import install_error_handlers
from attune import errors


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


async def get_boom(app: FastAPI) -> httpx.Response:
    # raise_app_exceptions=False: answer as a server would, instead of re-raising the bug.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/boom")


async def test_an_unexpected_error_is_a_500_in_the_error_shape() -> None:
    response = await get_boom(app_raising(ZeroDivisionError("secret detail")))

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert "ZeroDivisionError" in error["message"]
    assert "secret detail" not in error["message"]


async def test_an_unavailable_service_is_a_503() -> None:
    response = await get_boom(app_raising(errors.ServiceUnavailable("Temporal refused")))

    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "service_unavailable",
        "message": "Temporal refused",
        "details": {},
    }
