"""The codec endpoint's answers to what a Web UI or a stranger may send it."""

from __future__ import annotations

import base64
import logging
import os

import httpx

from api.access_log import ACCESS_LOGGER, CodecSecretFilter
from attune.payload_codec import ENCODING, KEY_ID


def payload(data: bytes, **metadata: bytes) -> dict[str, object]:
    return {
        "metadata": {name: base64.b64encode(value).decode() for name, value in metadata.items()},
        "data": base64.b64encode(data).decode(),
    }


async def test_a_payload_as_large_as_temporal_allows_goes_there_and_back(
    api: httpx.AsyncClient,
) -> None:
    large = os.urandom(1_500_000)  # past the API's usual 1 MiB body, within Temporal's 2 MB
    body = {"payloads": [payload(large, encoding=b"binary/plain")]}

    encoded = await api.post("/api/v1/codec/encode", json=body)
    assert encoded.status_code == 200, encoded.text
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == ENCODING
    decoded = await api.post("/api/v1/codec/decode", json=encoded.json())

    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == body


async def test_what_cannot_be_decoded_is_a_422_naming_the_payload(api: httpx.AsyncClient) -> None:
    foreign = payload(b"x" * 40, encoding=ENCODING, **{KEY_ID: b"0123456789abcdef"})
    not_base64 = {"metadata": {}, "data": "%%%"}

    unknown_key = await api.post("/api/v1/codec/decode", json={"payloads": [foreign]})
    malformed = await api.post("/api/v1/codec/decode", json={"payloads": [not_base64]})
    not_utf8 = await api.post(
        "/api/v1/codec/decode", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )

    assert unknown_key.status_code == 422, unknown_key.text
    assert unknown_key.json()["error"]["details"]["field"] == "payloads[0]"
    assert "ATTUNE_PREVIOUS_ENCRYPTION_KEYS" in unknown_key.json()["error"]["message"]
    assert malformed.status_code == 422, malformed.text
    assert "base64" in malformed.text
    assert not_utf8.status_code == 422, not_utf8.text


async def test_a_plain_payload_is_decoded_as_it_came(api: httpx.AsyncClient) -> None:
    plain = payload(b'"hello"', encoding=b"json/plain")

    decoded = await api.post("/api/v1/codec/decode", json={"payloads": [plain]})

    assert decoded.json() == {"payloads": [plain]}


async def test_a_truncated_payload_or_an_odd_secret_is_refused_not_a_500(
    api: httpx.AsyncClient, anonymous_api: httpx.AsyncClient
) -> None:
    encoded = await api.post(
        "/api/v1/codec/encode", json={"payloads": [payload(b"x", encoding=b"binary/plain")]}
    )
    [sealed] = encoded.json()["payloads"]
    truncated = {**sealed, "data": base64.b64encode(b"short").decode()}

    refused = await api.post("/api/v1/codec/decode", json={"payloads": [truncated]})
    odd = await anonymous_api.post("/api/v1/codec/web-ui/%C3%A9/decode", json={"payloads": []})

    assert refused.status_code == 422, refused.text
    assert "too short" in refused.json()["error"]["message"]
    assert odd.status_code == 401, odd.text


def test_the_access_log_never_shows_the_web_ui_secret() -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/api/v1/codec/web-ui/s3cr3t-path/decode", "1.1", 200),
        None,
    )

    CodecSecretFilter().filter(record)

    assert "s3cr3t-path" not in record.getMessage()
    assert "/api/v1/codec/web-ui/***/decode" in record.getMessage()
