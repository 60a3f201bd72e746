"""The http-request runner: one HTTP call, its response as the result."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from activities.runners.heartbeat import timeout_message, wait_heartbeating
from activities.runners.types import RunOutput, RunRequest, RunStatus
from attune.json_limits import json_problem

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class _Call:
    url: str
    method: str
    headers: dict[str, str]
    body: Any
    timeout: float
    verify_tls: bool


@dataclass(frozen=True)
class _Response:
    status_code: int
    headers: dict[str, str]
    text: str
    truncated: bool


class _BadParameter(Exception):
    pass


def _parse(parameters: dict[str, Any]) -> _Call:
    url = parameters.get("url")
    if not isinstance(url, str) or not url:
        raise _BadParameter("http-request needs the parameter 'url' (a non-empty string)")
    method = parameters.get("method", "GET")
    headers = parameters.get("headers")
    if headers is None:
        headers = {}
    timeout = parameters.get("timeout", DEFAULT_TIMEOUT_SECONDS)
    verify_tls = parameters.get("verify_tls", True)
    if not isinstance(method, str) or not method:
        raise _BadParameter("http-request parameter 'method' must be a non-empty string")
    if not isinstance(headers, dict):
        raise _BadParameter("http-request parameter 'headers' must be an object")
    # bool is an int, and `timeout: true` is certainly a mistake.
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise _BadParameter("http-request parameter 'timeout' must be a positive number")
    if not isinstance(verify_tls, bool):
        raise _BadParameter("http-request parameter 'verify_tls' must be true or false")
    return _Call(
        url=url,
        method=method.upper(),
        headers={str(name): str(value) for name, value in headers.items()},
        body=parameters.get("body"),
        timeout=float(timeout),
        verify_tls=verify_tls,
    )


async def _send(client: httpx.AsyncClient, call: _Call, limit: int) -> _Response:
    # Objects, arrays, numbers go as JSON; a string is sent as it is, already encoded.
    if call.body is None:
        body: dict[str, Any] = {}
    elif isinstance(call.body, str):
        body = {"content": call.body}
    else:
        body = {"json": call.body}
    async with client.stream(call.method, call.url, headers=call.headers, **body) as response:
        # Streamed so a huge response costs no more memory than the output cap.
        data = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            room = limit - len(data)
            data += chunk[: max(room, 0)]
            if len(chunk) > room:
                truncated = True
                break
        return _Response(
            status_code=response.status_code,
            headers=dict(response.headers.items()),
            text=data.decode(response.encoding or "utf-8", errors="replace"),
            truncated=truncated,
        )


def _output(
    status: RunStatus, started: float, error: str | None, response: _Response | None = None
) -> RunOutput:
    result = None
    if response is not None:
        body: Any = response.text
        # Kept as text when it is not JSON, or JSON nested too deeply to store.
        with contextlib.suppress(ValueError, RecursionError):
            parsed = json.loads(response.text)
            if json_problem(parsed, field="body") is None:
                body = parsed
        result = {"status_code": response.status_code, "headers": response.headers, "body": body}
    return RunOutput(
        status=status,
        exit_code=None,
        stdout=response.text if response else "",
        stderr="",
        stdout_truncated=response.truncated if response else False,
        stderr_truncated=False,
        result=result,
        duration_seconds=time.monotonic() - started,
        error=error,
    )


async def run_http_request(request: RunRequest) -> RunOutput:
    """Send the request the parameters describe; a 4xx or 5xx response is a failure.

    The response body is the stdout (capped at output_limit_bytes) and, parsed as JSON when
    it is JSON, the `body` of the result.
    """
    started = time.monotonic()
    try:
        call = _parse(request.parameters)
    except _BadParameter as exc:
        return RunOutput.failed(str(exc))
    # httpx's timeout bounds each phase (connect, each read); this bounds the whole call.
    limit = call.timeout
    if request.action.timeout_seconds is not None:
        limit = min(limit, request.action.timeout_seconds)
    async with httpx.AsyncClient(verify=call.verify_tls, timeout=call.timeout) as client:
        sending = asyncio.create_task(_send(client, call, request.output_limit_bytes))
        try:
            finished = await wait_heartbeating(
                sending,
                seconds=limit,
                heartbeat=request.heartbeat,
                interval=request.heartbeat_interval,
            )
        finally:
            if not sending.done():  # timed out, or our caller was cancelled
                sending.cancel()
                await asyncio.wait({sending})
        if not finished:
            return _output(RunStatus.TIMEOUT, started, timeout_message(limit))
        try:
            response = sending.result()
        except httpx.TimeoutException:
            return _output(RunStatus.TIMEOUT, started, timeout_message(call.timeout))
        # ValueError: what httpx cannot even encode, such as a header value outside ASCII.
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            message = f"request to {call.url} failed: {type(exc).__name__}: {exc}"
            return _output(RunStatus.FAILED, started, message)
    if response.status_code >= 400:
        error = f"HTTP {response.status_code} from {call.url}"
        return _output(RunStatus.FAILED, started, error, response)
    return _output(RunStatus.COMPLETED, started, None, response)
