"""http-request against a real HTTP server on a free local port."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from activities.runners import RunRequest, RunStatus, run_action
from tests.activities.runners.support import Heartbeats, make_request

# Set at teardown so a handler still waiting for a slow response does not hold its thread.
RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", "tests")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/json":
            self._reply(200, b'{"hello": "world", "n": [1, 2]}')
        elif url.path == "/text":
            self._reply(200, b"plain words", "text/plain; charset=utf-8")
        elif url.path == "/big":
            self._reply(200, b"z" * 10_000, "text/plain")
        elif url.path == "/slow":
            RELEASE.wait(float(parse_qs(url.query)["seconds"][0]))
            self._reply(200, b'"late"')
        else:
            self._reply(404, b'{"detail": "not found"}')

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        echoed = {
            "method": self.command,
            "content_type": self.headers.get("Content-Type"),
            "x_token": self.headers.get("X-Token"),
            "body": body.decode(),
        }
        self._reply(201, json.dumps(echoed).encode())

    do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output for the tests


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a threaded HTTP server running for this module."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        RELEASE.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def http(**parameters: Any) -> RunRequest:
    return make_request("http-request", parameters)


async def test_json_body_is_parsed(server: str) -> None:
    output = await run_action(http(url=f"{server}/json"))
    assert output.status is RunStatus.COMPLETED
    assert output.error is None
    assert output.exit_code is None
    assert output.result["status_code"] == 200
    assert output.result["body"] == {"hello": "world", "n": [1, 2]}
    assert output.result["headers"]["x-served-by"] == "tests"
    assert json.loads(output.stdout) == output.result["body"]


async def test_text_body_stays_text(server: str) -> None:
    output = await run_action(http(url=f"{server}/text"))
    assert output.result["body"] == "plain words"


async def test_not_found_fails(server: str) -> None:
    output = await run_action(http(url=f"{server}/missing"))
    assert output.status is RunStatus.FAILED
    assert output.error == f"HTTP 404 from {server}/missing"
    assert output.result["body"] == {"detail": "not found"}


@pytest.mark.parametrize(
    ("body", "content_type", "sent"),
    [
        ({"a": 1, "b": [True, None]}, "application/json", {"a": 1, "b": [True, None]}),
        ([1, 2], "application/json", [1, 2]),
        ("raw=text", None, "raw=text"),
    ],
)
async def test_post_body_echoed(
    server: str, body: Any, content_type: str | None, sent: Any
) -> None:
    output = await run_action(
        http(url=f"{server}/echo", method="post", headers={"X-Token": "t0k"}, body=body)
    )
    assert output.status is RunStatus.COMPLETED
    echoed = output.result["body"]
    assert output.result["status_code"] == 201
    assert (echoed["method"], echoed["x_token"]) == ("POST", "t0k")
    assert echoed["content_type"] == content_type
    assert (json.loads(echoed["body"]) if content_type else echoed["body"]) == sent


async def test_body_over_the_cap_is_truncated(server: str) -> None:
    request = make_request("http-request", {"url": f"{server}/big"}, output_limit_bytes=100)
    output = await run_action(request)
    assert output.status is RunStatus.COMPLETED
    assert output.stdout == "z" * 100
    assert output.stdout_truncated


@pytest.mark.parametrize(
    ("timeout_parameter", "action_timeout"), [(0.3, None), (30, 0.3)], ids=["param", "action"]
)
async def test_slow_server_times_out(
    server: str, timeout_parameter: float, action_timeout: float | None
) -> None:
    request = make_request(
        "http-request",
        {"url": f"{server}/slow?seconds=5", "timeout": timeout_parameter},
        timeout=action_timeout,
    )
    output = await run_action(request)
    assert output.status is RunStatus.TIMEOUT
    assert output.error == "timed out after 0.3s"
    assert output.duration_seconds < 2


async def test_heartbeat_while_waiting(server: str) -> None:
    heartbeats = Heartbeats()
    request = make_request(
        "http-request",
        {"url": f"{server}/slow?seconds=0.4"},
        heartbeat=heartbeats,
        heartbeat_interval=0.05,
    )
    output = await run_action(request)
    assert output.result["body"] == "late"
    assert heartbeats.count >= 4


async def test_cancel_raises(server: str) -> None:
    task = asyncio.create_task(run_action(http(url=f"{server}/slow?seconds=5")))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_connection_refused_fails() -> None:
    # Bound but not listening: the port is refused, and nobody else can take it meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        output = await run_action(http(url=url))
    assert output.status is RunStatus.FAILED
    assert output.error is not None
    assert output.error.startswith(f"request to {url} failed: ConnectError")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "http-request needs the parameter 'url' (a non-empty string)"),
        ({"url": "http://x", "timeout": "soon"}, "'timeout' must be a positive number"),
        ({"url": "http://x", "headers": ["a"]}, "'headers' must be an object"),
    ],
)
async def test_bad_parameters_fail(parameters: dict[str, Any], message: str) -> None:
    output = await run_action(http(**parameters))
    assert output.status is RunStatus.FAILED
    assert output.error is not None
    assert message in output.error


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"url": "ftp://127.0.0.1/file"}, "UnsupportedProtocol"),
        ({"url": "http://[::1"}, "InvalidURL"),
        ({"url": "http://127.0.0.1:9/", "headers": {"X-Name": "é"}}, "UnicodeEncodeError"),
    ],
)
async def test_unsendable_request_fails(parameters: dict[str, Any], named: str) -> None:
    output = await run_action(http(**parameters))
    assert output.status is RunStatus.FAILED
    assert output.error is not None
    assert f"failed: {named}" in output.error
