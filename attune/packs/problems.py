"""Problems found in a pack, gathered so that one error reports all of them at once.

A pack is written by whoever uploaded it, so what a problem says is bounded here, once:
each file, field and message is cut to a readable length with control characters escaped,
and one error lists at most `MAX_LISTED_PROBLEMS`. Checks still quote values through
`attune.excerpts`; this is the backstop for text they did not write themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from attune import errors
from attune.excerpts import shortened

MAX_LISTED_PROBLEMS = 50
"""The most problems one `PackError` lists; the rest are counted, not shown."""

MAX_MESSAGE_CHARS = 300
"""The longest message of one problem."""

MAX_NAME_CHARS = 200
"""The longest file or field name of one problem."""


@dataclass(frozen=True)
class Problem:
    """One problem: the file (relative to the pack folder), the field (None: the whole file).

    Every part is bounded when the problem is made (see the module's docstring).
    """

    file: str
    field: str | None
    message: str

    def __post_init__(self) -> None:
        # Frozen: the bounded values replace the given ones once, here.
        object.__setattr__(self, "file", shortened(self.file, MAX_NAME_CHARS))
        if self.field is not None:
            object.__setattr__(self, "field", shortened(self.field, MAX_NAME_CHARS))
        object.__setattr__(self, "message", shortened(self.message, MAX_MESSAGE_CHARS))

    def __str__(self) -> str:
        if self.field is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}: {self.field}: {self.message}"


class PackError(errors.ValidationError):
    """A pack refused as a whole.

    `problems` holds the problems listed: the first `MAX_LISTED_PROBLEMS` found, in the
    order found. `total` is how many were found in all. The message lists them a line
    each, and `details["problems"]` as `{file, field, message}`; when some are not listed,
    one more line, and one more entry (file "", field None), says how many.
    """

    def __init__(self, problems: Iterable[Problem], *, total: int | None = None) -> None:
        given = list(problems)
        self.problems = tuple(given[:MAX_LISTED_PROBLEMS])
        self.total = max(total if total is not None else 0, len(given))
        listed = [asdict(problem) for problem in self.problems]
        lines = [f"  {problem}" for problem in self.problems]
        hidden = self.total - len(self.problems)
        if hidden:
            more = f"… and {hidden} more problem{'s' if hidden != 1 else ''} not shown"
            listed.append({"file": "", "field": None, "message": more})
            lines.append(f"  {more}")
        count = self.total
        joined = "\n".join(lines)
        super().__init__(
            f"pack refused, {count} problem{'s' if count != 1 else ''}:\n{joined}",
            details={"problems": listed},
        )


class Problems:
    """A collector: checks add problems and carry on, then `raise_if_any` refuses the pack.

    Only the problems an error can list are kept (`found`); `count` counts all of them,
    so a pack with a million broken fields costs a counter, not a million problems.
    """

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self.count = 0

    def add(self, file: str, field: str | None, message: str) -> None:
        """Record one problem."""
        self.count += 1
        if len(self.found) < MAX_LISTED_PROBLEMS:
            self.found.append(Problem(file, field, message))

    def raise_if_any(self) -> None:
        """Raise one `PackError` listing the problems recorded, if there is any."""
        if self.count:
            raise PackError(self.found, total=self.count)
