"""The Temporal codec-server protocol: payloads as protobuf JSON (`bytes` as base64)."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, Field, field_validator
from temporalio.api.common.v1 import Payload

MAX_PAYLOADS = 1000


def _is_base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("must be base64") from None
    return value


class PayloadJson(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""

    @field_validator("metadata")
    @classmethod
    def _metadata_is_base64(cls, value: dict[str, str]) -> dict[str, str]:
        for item in value.values():
            _is_base64(item)
        return value

    @field_validator("data")
    @classmethod
    def _data_is_base64(cls, value: str) -> str:
        return _is_base64(value)

    def to_payload(self) -> Payload:
        return Payload(
            metadata={name: base64.b64decode(item) for name, item in self.metadata.items()},
            data=base64.b64decode(self.data),
        )

    @classmethod
    def of(cls, payload: Payload) -> PayloadJson:
        return cls(
            metadata={
                name: base64.b64encode(item).decode("ascii")
                for name, item in payload.metadata.items()
            },
            data=base64.b64encode(payload.data).decode("ascii"),
        )


class PayloadsJson(BaseModel):
    payloads: list[PayloadJson] = Field(default_factory=list, max_length=MAX_PAYLOADS)
