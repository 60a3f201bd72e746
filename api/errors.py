"""The one place domain errors become HTTP responses, all in one body shape.

{"error": {"code": "not_found", "message": "...", "details": {...}}}
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from attune import errors
from db.outages import lost_connection

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.AttuneError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.ValidationError: 422,
    errors.PermissionDenied: 403,
    errors.Unauthenticated: 401,
    errors.PolicyViolation: 429,
    errors.PayloadTooLarge: 413,
    errors.ServiceUnavailable: 503,
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_for(error: errors.AttuneError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 400


def domain_error_response(error: errors.AttuneError) -> JSONResponse:
    """The response a domain error gets, wherever it is raised (routes, the request guard)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, errors.Unauthenticated) else None
    return JSONResponse(
        error_body(error.code, error.message, error.details),
        status_code=status_for(error),
        headers=headers,
    )


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.AttuneError)
    return domain_error_response(error)


async def _request_validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in problem["loc"]), "message": problem["msg"]}
        for problem in error.errors()
    ]
    return JSONResponse(
        error_body(
            "validation_error",
            f"invalid request: {errors.summarize(problems)}",
            {"errors": problems},
        ),
        status_code=422,
    )


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return JSONResponse(
        error_body("http_error", str(error.detail)),
        status_code=error.status_code,
        headers=error.headers,
    )


def _lost_database_response() -> JSONResponse:
    return JSONResponse(
        error_body(
            "service_unavailable",
            "the connection to PostgreSQL was lost during the request; try again",
            {"service": "postgresql"},
        ),
        status_code=503,
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    if lost_connection(error):
        logger.warning("PostgreSQL connection lost during a request: %s", error)
        return _lost_database_response()
    return await _unexpected_error(request, error)


async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
    """Even a bug answers in the one shape; the traceback goes to the log, not the caller.

    Also what answers for an error raised outside the routes (the request guard looks up
    tokens), so a lost database is a 503 here too.
    """
    if lost_connection(error):
        return _lost_database_response()
    logger.error("unhandled error", exc_info=error)
    return JSONResponse(
        error_body("internal_error", f"internal error ({type(error).__name__}); see the API log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(errors.AttuneError, _domain_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
