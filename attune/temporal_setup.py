"""Connecting to Temporal and preparing a namespace for Attune."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.converter import DataConverter

from attune.config import Settings
from attune.payload_codec import encrypting_data_converter
from workflows import search_attributes

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = timedelta(seconds=5)


def data_converter_for(settings: Settings) -> DataConverter:
    """How this process's payloads go to Temporal: encrypted with the configured keys."""
    return encrypting_data_converter(settings.encryption_key_ring)


async def connect_temporal(address: str, namespace: str, *, keys: Sequence[bytes]) -> Client:
    """Connect to a Temporal frontend with the encrypting codec (`attune.payload_codec`),
    failing with the address in the message."""
    try:
        return await Client.connect(
            address, namespace=namespace, data_converter=encrypting_data_converter(keys)
        )
    except Exception as error:
        raise ConnectionError(f"cannot reach Temporal at {address}: {error}") from error


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add Attune's custom search attributes that the namespace lacks; return the added names.

    Idempotent, and needed even on the embedded server: its `--search-attribute` flags are
    ignored when it reopens an existing database file.
    """
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search_attributes.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        logger.info("registered search attributes %s", ", ".join(sorted(missing)))
    return sorted(missing)
