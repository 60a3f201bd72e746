"""Problems found in a pack, gathered so that one error reports all of them at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from attune import errors


@dataclass(frozen=True)
class Problem:
    """One problem: the file (relative to the pack folder), the field (None: the whole file)."""

    file: str
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.field}: {self.message}"


class PackError(errors.ValidationError):
    """A pack refused as a whole; `details["problems"]` lists `{file, field, message}`."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(
            f"pack refused, {count} problem{'s' if count != 1 else ''}:\n{lines}",
            details={"problems": [asdict(problem) for problem in self.problems]},
        )


class Problems:
    """A collector: checks add problems and carry on, then `raise_if_any` refuses the pack."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, file: str, field: str | None, message: str) -> None:
        """Record one problem."""
        self.found.append(Problem(file, field, message))

    def raise_if_any(self) -> None:
        """Raise one `PackError` listing every problem recorded, if there is any."""
        if self.found:
            raise PackError(self.found)
