"""The codec endpoint of the Temporal Web UI and CLI: payloads decoded for those let in.

`POST /codec/decode` and `/codec/encode` speak Temporal's codec-server protocol and take
an Attune bearer token, like every route (`temporal workflow show --codec-endpoint
<api>/api/v1/codec --codec-auth "Bearer <token>"`). The Web UI, which cannot send an
Attune token, is given `/codec/web-ui/<secret>` instead (`attune.web_ui_codec`); a wrong
secret finds no public route and the request guard answers 401.

Decoding shows any payload of any workflow, so the bearer routes need a view of every
execution (an unscoped execution grant, as `admin`, `operator` and `observer` hold).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request

from api.access import needs, request_permissions
from api.deps import ServicesDep
from api.responses import errors_of
from api.schemas.codec import PayloadJson, PayloadsJson
from api.services import Services
from attune import errors
from attune.auth.permissions import Resource, Verb
from attune.payload_codec import EncryptionCodec, PayloadKeyError
from attune.web_ui_codec import web_ui_secret

router = APIRouter(prefix="/codec", tags=["codec"])
web_ui_router = APIRouter(prefix="/codec/web-ui", tags=["codec"])


@router.post("/decode", responses=errors_of(403, 422), **needs(Resource.EXECUTION, Verb.VIEW))
async def decode(services: ServicesDep, request: Request, body: PayloadsJson) -> PayloadsJson:
    """Payloads as Temporal holds them, decrypted; others are returned as they came."""
    _check_views_everything(request)
    return _transcode(services, body, decode=True)


@router.post("/encode", responses=errors_of(403, 422), **needs(Resource.EXECUTION, Verb.VIEW))
async def encode(services: ServicesDep, request: Request, body: PayloadsJson) -> PayloadsJson:
    """Payloads encrypted as Attune's workers and clients encrypt them."""
    _check_views_everything(request)
    return _transcode(services, body, decode=False)


@web_ui_router.post("/{secret}/decode", responses=errors_of(401, 422), include_in_schema=False)
async def web_ui_decode(services: ServicesDep, secret: str, body: PayloadsJson) -> PayloadsJson:
    _check_secret(services, secret)
    return _transcode(services, body, decode=True)


@web_ui_router.post("/{secret}/encode", responses=errors_of(401, 422), include_in_schema=False)
async def web_ui_encode(services: ServicesDep, secret: str, body: PayloadsJson) -> PayloadsJson:
    _check_secret(services, secret)
    return _transcode(services, body, decode=False)


def _check_views_everything(request: Request) -> None:
    # A payload names no execution: a view of some executions is not enough.
    if not request_permissions(request).visibility(Resource.EXECUTION).everything:
        raise errors.PermissionDenied(
            "permission denied: needs view on execution, unscoped (a payload may be any "
            "execution's)",
            details={"resource": Resource.EXECUTION.value, "verb": Verb.VIEW.value},
        )


def _check_secret(services: Services, secret: str) -> None:
    # The guard already admits only the configured path; checked again so that this route
    # never serves a secret it was not built with.
    master = services.settings.encryption_key_bytes
    # Bytes: compare_digest refuses str holding anything but ASCII (a 500 otherwise).
    expected = web_ui_secret(master).encode() if master is not None else b""
    if not expected or not hmac.compare_digest(secret.encode(), expected):
        raise errors.Unauthenticated("unknown codec endpoint")


def _transcode(services: Services, body: PayloadsJson, *, decode: bool) -> PayloadsJson:
    codec = services.temporal.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise errors.ServiceUnavailable("this API process has no payload codec configured")
    results: list[PayloadJson] = []
    for index, item in enumerate(body.payloads):
        try:
            payload = item.to_payload()
            changed = codec.open(payload) if decode else codec.seal(payload)
        except PayloadKeyError as error:
            field = f"payloads[{index}]"
            raise errors.ValidationError(f"{field}: {error}", details={"field": field}) from None
        results.append(PayloadJson.of(changed))
    return PayloadsJson(payloads=results)
