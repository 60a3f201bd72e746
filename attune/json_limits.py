"""JSON Attune stores must be JSON it can read back: bounded depth, text PostgreSQL accepts.

A document nested hundreds of levels deep is accepted by `json.loads` and by PostgreSQL,
and then breaks every later read of it (pydantic's serialiser gives up near 255 levels),
so one hostile event would break every page of the list that holds it. PostgreSQL's
jsonb cannot hold the NUL character, and UTF-8 cannot hold a lone surrogate (`"\\ud800"`
is valid JSON). Every entry point checks what it takes with `check_json` (or parses with
`loads_checked`), so that nothing stored can break a read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from attune import errors
from attune.excerpts import field_name

MAX_JSON_DEPTH = 64
"""The deepest nesting of objects and arrays accepted anywhere (a scalar is depth 0)."""

# In valid JSON a NUL or a surrogate can only arrive escaped; without `\u0000` or
# `\ud800`..`\udfff` in the text, and with fewer brackets than the depth limit, a document
# cannot break a rule, and the walk over it is skipped.
_SUSPICIOUS_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class MalformedJson(errors.ValidationError):
    """The text is not JSON at all (as opposed to JSON that breaks a rule)."""


def check_json(value: Any, *, field: str) -> None:
    """Raise `ValidationError` naming the path of the first thing Attune cannot keep."""
    problem = json_problem(value, field=field)
    if problem is not None:
        where, message = problem
        raise errors.ValidationError(f"{where}: {message}", details={"field": where})


def json_problem(value: Any, *, field: str) -> tuple[str, str] | None:
    """(path, why) for the first part of `value` too deep or not storable; None when fine."""
    # Iterative: a recursive walk would itself fail on the documents it exists to refuse.
    pending: list[tuple[Any, str, int]] = [(value, field, 0)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem is not None:
                return where, problem
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return where, f"nested deeper than {MAX_JSON_DEPTH} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = _text_problem(key) if isinstance(key, str) else None
                    if problem is not None:
                        return f"{where}.<key>", f"a key {problem}"
                    pending.append((child, f"{where}.{field_name(key)}", depth + 1))
            else:
                pending.extend(
                    (child, f"{where}[{index}]", depth + 1) for index, child in enumerate(item)
                )
    return None


def loads_checked(data: bytes | str, *, field: str = "body") -> Any:
    """`data` parsed as JSON and checked; `ValidationError` naming the field otherwise."""
    try:
        value = json.loads(data)
    except RecursionError:
        # The C parser's own recursion guard: far deeper than the limit.
        raise errors.ValidationError(
            f"{field}: nested deeper than {MAX_JSON_DEPTH} levels", details={"field": field}
        ) from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError alike
        raise MalformedJson(f"{field}: not JSON: {error}", details={"field": field}) from None
    if needs_walk(data):
        check_json(value, field=field)
    return value


def needs_walk(data: bytes | str) -> bool:
    """Whether JSON text could break a rule at all: a fast test on the raw text."""
    raw = data.encode() if isinstance(data, str) else data
    brackets = raw.count(b"[") + raw.count(b"{")
    return brackets > MAX_JSON_DEPTH or _SUSPICIOUS_ESCAPE.search(raw) is not None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode"
    return None
