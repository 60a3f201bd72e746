"""The payload codec: what it seals opens again, under the key that sealed it only, and
payloads written without it pass through (histories from before the codec stay readable)."""

from __future__ import annotations

import os

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.converter import DataConverter

from attune.payload_codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeyError
from attune.payload_codec import encrypting_data_converter as converter_with

OLD, NEW = os.urandom(32), os.urandom(32)


async def test_a_payload_is_sealed_and_opens_to_what_it_was() -> None:
    [plain] = DataConverter.default.payload_converter.to_payloads([{"password": "hunter2"}])
    codec = EncryptionCodec([NEW])

    [sealed] = await codec.encode([plain])

    assert sealed.metadata["encoding"] == ENCODING
    assert b"hunter2" not in sealed.SerializeToString()
    assert (await codec.decode([sealed])) == [plain]
    [again] = await codec.encode([plain])
    assert again.data != sealed.data  # a fresh nonce every time


async def test_payloads_written_before_the_codec_pass_through() -> None:
    [plain] = DataConverter.default.payload_converter.to_payloads(["written before"])

    assert await EncryptionCodec([NEW]).decode([plain]) == [plain]


async def test_after_a_rotation_the_previous_key_still_opens_old_payloads() -> None:
    [plain] = DataConverter.default.payload_converter.to_payloads([42])
    [sealed_before] = await EncryptionCodec([OLD]).encode([plain])
    rotated = EncryptionCodec([NEW, OLD])

    [sealed_after] = await rotated.encode([plain])

    assert await rotated.decode([sealed_before, sealed_after]) == [plain, plain]
    assert sealed_after.metadata[KEY_ID] != sealed_before.metadata[KEY_ID]
    with pytest.raises(PayloadKeyError, match="ATTUNE_PREVIOUS_ENCRYPTION_KEYS"):
        await EncryptionCodec([NEW]).decode([sealed_before])


async def test_an_altered_or_relabelled_payload_is_refused() -> None:
    [plain] = DataConverter.default.payload_converter.to_payloads(["x"])
    codec = EncryptionCodec([OLD, NEW])
    [sealed] = await codec.encode([plain])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    altered = Payload(metadata=dict(sealed.metadata), data=bytes(flipped))
    [under_new] = await EncryptionCodec([NEW]).encode([plain])
    relabelled = Payload(
        metadata={**sealed.metadata, KEY_ID: under_new.metadata[KEY_ID]}, data=sealed.data
    )

    for bad in (altered, relabelled):
        with pytest.raises(PayloadKeyError, match="altered"):
            await codec.decode([bad])


async def test_without_a_key_nothing_is_sent_in_clear() -> None:
    [plain] = DataConverter.default.payload_converter.to_payloads(["x"])

    with pytest.raises(PayloadKeyError, match="ATTUNE_ENCRYPTION_KEY"):
        await EncryptionCodec([]).encode([plain])


async def test_failure_messages_and_stack_traces_are_encoded_too() -> None:
    converter = converter_with([NEW])
    failure = Failure()

    await converter.encode_failure(RuntimeError("db password is hunter2"), failure)

    assert b"hunter2" not in failure.SerializeToString()
    assert "hunter2" in str(await converter.decode_failure(failure))
