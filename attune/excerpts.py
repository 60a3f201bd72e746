"""Quoting what a caller sent back to them: short, escaped, never a whole file or document.

Error messages name the value that was wrong, because that is what makes them useful; but
an error must not become a way to read a file through the API, nor answer a 1 MiB value
with a 1 MiB message. Every value an error quotes goes through `excerpt`.
"""

from __future__ import annotations

import re

EXCERPT_CHARS = 60
"""The longest quotation of a value an error message holds."""

_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]]{1,64}$")


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """`repr(value)` (so control characters are escaped), cut to `limit` characters with `…`."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)] + "…"


def field_name(key: object) -> str:
    """A key as an error's field name: as it is when it looks like a name, else an excerpt."""
    text = str(key)
    return text if _PLAIN_NAME.match(text) else excerpt(key)
