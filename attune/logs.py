"""Process-wide logging set-up, done once by each CLI command."""

from __future__ import annotations

import logging

from attune.config import LogLevel


def configure_logging(level: LogLevel) -> None:
    logging.basicConfig(
        level=level.value,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # The SDK's worker logs each poll at INFO under load; keep our level for our own modules.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("temporalio").setLevel(
        max(logging.WARNING, logging.getLevelName(level.value))
    )
