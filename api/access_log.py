"""The access log without the Web UI's codec secret, which is part of that route's path."""

from __future__ import annotations

import logging
import re

from attune.web_ui_codec import WEB_UI_PATH

_SECRET_IN_PATH = re.compile(re.escape(WEB_UI_PATH) + r"/[^/\s?]+")
ACCESS_LOGGER = "uvicorn.access"


class CodecSecretFilter(logging.Filter):
    """Writes `/api/v1/codec/web-ui/***` where a request line holds the secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_PATH.sub(f"{WEB_UI_PATH}/***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def redact_codec_secret() -> None:
    """Install the filter on uvicorn's access log (once, however many apps start)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, CodecSecretFilter) for existing in logger.filters):
        logger.addFilter(CodecSecretFilter())
