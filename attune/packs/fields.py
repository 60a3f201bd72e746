"""Reading one YAML mapping field by field, recording each problem instead of stopping."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from attune.excerpts import excerpt, field_name
from attune.packs.problems import Problems
from db.models.base import REF_PATTERN
from db.models.pack import SEMVER_PATTERN

NAME = re.compile(r"^[a-z0-9_-]+$")
"""Pack refs and component names: lowercase letters, digits, `_` and `-`."""

REF = re.compile(REF_PATTERN)
"""A component ref, `<pack>.<name>`, as the database checks it."""

SEMVER = re.compile(SEMVER_PATTERN)
"""A pack version, as the database checks it."""

ModelT = TypeVar("ModelT", bound=BaseModel)


class Fields:
    """The fields of one mapping in `file`; `prefix` names nested ones (`action.ref`)."""

    def __init__(
        self,
        file: str,
        data: Mapping[str, Any],
        problems: Problems,
        *,
        allowed: Iterable[str],
        prefix: str = "",
    ) -> None:
        self.file = file
        self.data = data
        self.problems = problems
        self.prefix = prefix
        known = sorted(allowed)
        for key in data:
            if key not in known:
                # The key is the author's text: quoted as a name, never whole.
                self.problem(field_name(key), f"unknown field (allowed: {', '.join(known)})")

    def field(self, name: str) -> str:
        """The full name of a field, as problems name it."""
        return f"{self.prefix}{name}"

    def problem(self, name: str, message: str) -> None:
        """Record a problem with field `name` of this mapping."""
        self.problems.add(self.file, self.field(name), message)

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string field; None when absent (a problem if `required`) or not a string."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return None
        if not isinstance(value, str):
            # YAML reads `version: 1.0` as a number; say how to keep it text.
            quote = " (put it in quotes)" if isinstance(value, int | float) else ""
            self.problem(name, f"must be a string, not {_kind(value)}{quote}")
            return None
        return value

    def matching(self, name: str, pattern: re.Pattern[str], hint: str, **kw: bool) -> str | None:
        """A string field that must match `pattern`; `hint` says what it should look like."""
        value = self.text(name, **kw)
        if value is not None and not pattern.match(value):
            self.problem(name, f"{excerpt(value)} is not {hint}")
            return None
        return value

    def flag(self, name: str, default: bool) -> bool:
        """A true/false field."""
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.problem(name, f"must be true or false, not {_kind(value)}")
            return default
        return value

    def mapping(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        """A mapping field; None when absent (a problem if `required`) or not a mapping."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, "is required")
            return None
        if not isinstance(value, dict):
            self.problem(name, f"must be a mapping, not {_kind(value)}")
            return None
        return value

    def strings(self, name: str) -> list[str]:
        """A list of strings; empty when absent or wrong."""
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(name, "must be a list of strings")
            return []
        return value

    def positive_integer(self, name: str, *, maximum: int) -> int | None:
        """A whole number from 1 to `maximum`, or None when absent or wrong."""
        value = self.data.get(name)
        if value is None:
            return None
        # bool is an int in Python; `timeout: true` is a mistake, not 1 second.
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= maximum:
            self.problem(name, f"must be a whole number from 1 to {maximum}, not {excerpt(value)}")
            return None
        return value

    def model(self, model: type[ModelT], names: Iterable[str]) -> ModelT | None:
        """Fields `names` checked together by a pydantic `model`, whose rules the API shares.

        Each error is a problem naming its dotted field (`concurrency.limit`); one about
        the fields together names none. None, as for other fields, counts as absent.
        """
        given = {name: self.data[name] for name in names if self.data.get(name) is not None}
        try:
            return model.model_validate(given)
        except PydanticValidationError as error:
            for problem in error.errors():
                where = ".".join(field_name(part) for part in problem["loc"])
                if where:
                    self.problem(where, problem["msg"])
                else:
                    self.problems.add(self.file, self.prefix.rstrip(".") or None, problem["msg"])
            return None


def _kind(value: Any) -> str:
    """How a YAML value reads to someone who wrote it: `a list`, `a number`..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {excerpt(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    return f"{type(value).__name__} {excerpt(value)}"
