"""YAML can say more than JSON: what a pack file says must fit in JSON, to be stored.

Every value a pack file holds ends up in a jsonb column, and YAML has values JSON has not:
dates (`default: 2024-01-01`), binary (`!!binary`), sets (`!!set`), and the floats `.nan`
and `.inf`; PostgreSQL also refuses the NUL character in text (`"\\0"`). Each is a problem
naming its field here, rather than a failed INSERT later.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from typing import Any

from attune.excerpts import field_name
from attune.json_limits import json_problem


def json_value_problems(data: Any) -> Iterator[tuple[str, str]]:
    """(field, why) for each value of a loaded YAML document that JSON cannot hold."""
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                pending.append((item, f"{where}.{field_name(key)}" if where else field_name(key)))
        elif isinstance(value, list):
            pending.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
        else:
            problem = _scalar_problem(value)
            if problem is not None:
                yield where or "(document)", problem
    found = json_problem(data, field="")
    if found is not None:
        where, problem = found
        yield where.lstrip(".") or "(document)", problem


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, datetime.date | datetime.datetime):
        return "is a date or time, which JSON has not: put it in quotes to keep it as text"
    if isinstance(value, bytes):
        return "is binary (!!binary), which JSON cannot hold"
    if isinstance(value, set | frozenset):
        return "is a set (!!set), which JSON has not: write a list"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number (.nan, .inf), which JSON cannot hold"
    if value is not None and not isinstance(value, str | int | float | bool):
        return f"is a {type(value).__name__}, which JSON cannot hold"
    return None
