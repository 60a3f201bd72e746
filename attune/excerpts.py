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
    try:
        text = repr(value)
    except ValueError:  # Python refuses to write an int of over 4300 digits in decimal
        return f"<an integer of {value.bit_length()} bits>" if isinstance(value, int) else "<?>"
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)] + "…"


def field_name(key: object) -> str:
    """A key as an error's field name: as it is when it looks like a name, else an excerpt."""
    text = str(key)
    return text if _PLAIN_NAME.match(text) else excerpt(key)


def shortened(text: str, limit: int) -> str:
    """`text` with control characters escaped (`\\n`), cut to `limit` characters with `…`."""
    if not text.isprintable():
        text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def requoted(message: str, value: object) -> str:
    """`message`, which quotes `repr(value)` (as jsonschema's do), quoting an excerpt instead."""
    try:
        quoted = repr(value)
    except ValueError:  # an integer too long to write in decimal: nothing was quoted either
        return message
    if len(quoted) <= EXCERPT_CHARS:
        return message
    return message.replace(quoted, excerpt(value))
