"""Quoting each value of a shell template for the place it stands, as HTML templates do.

A value printed into a shell command must reach the shell as text, whatever it holds.
Where it stands decides how: outside quotes it becomes one word (`shlex.quote`); between
the author's single quotes its `'` are closed and reopened around; between double quotes
`\\`, `"`, `$` and backticks are escaped. So `echo {{ x }}`, `echo '{{ x }}'` and
`echo "{{ x }}"` all print the value and run nothing of it. Places where no quoting is
safe (backticks, comments, here-documents, `"${...}"`) are refused, naming the parameter.

Rendering happens in two steps. While Jinja renders, every printed value is replaced by a
marker (NUL, its index, SOH: NUL cannot occur in stored text, see `attune.json_limits`)
and kept aside; then `place_values` reads the rendered text as the shell will, finds each
marker's place and puts the value there, quoted for it. A marker a filter or a block has
altered, or a value printed inside another (a macro), is resolved or refused, never
passed through raw.
"""

from __future__ import annotations

import re
import shlex
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# NUL opens it: no stored text holds one, so no value or template can forge a marker. Its
# two ends differ, so a filter that reverses text cannot leave it looking whole.
_MARKER = re.compile("\x00([0-9]+)\x01")


class ShellPlacementError(ValueError):
    """A value stands where it cannot be quoted safely; the message says where."""


class RawShell(str):
    """Text the template author marked to reach a shell unquoted (`| raw_shell`)."""

    __slots__ = ()


@dataclass
class _Values:
    printed: list[str] = field(default_factory=list)


_values: ContextVar[_Values | None] = ContextVar("attune_shell_values", default=None)


def begin() -> object:
    """Start collecting the values of one shell template's render; `end` with the token."""
    return _values.set(_Values())


def end(token: object) -> list[str]:
    """The values printed since `begin`."""
    collected = _values.get()
    _values.reset(token)  # type: ignore[arg-type]
    return collected.printed if collected is not None else []


def finalize(value: Any) -> str:
    """Jinja's `finalize` for shell templates: a marker in place of each printed value."""
    if isinstance(value, RawShell):
        return str(value)
    collected = _values.get()
    if collected is None:  # rendered outside `begin`/`end`: quote as one word, to be safe
        return shlex.quote(str(value))
    # A value that holds markers (a macro's output, a {% set %} block) is that text.
    text = _MARKER.sub(lambda found: collected.printed[int(found[1])], str(value))
    collected.printed.append(text)
    return f"\x00{len(collected.printed) - 1}\x01"


def shell_quote(value: Any) -> str:
    """The `shell_quote` filter: quote once more, for a command that runs its arguments as
    shell code again (`sh -c`, `ssh host`, `eval`)."""
    return shlex.quote(str(value))


def place_values(rendered: str, printed: list[str]) -> str:
    """The command with each marker replaced by its value, quoted for where it stands."""
    output: list[str] = []
    lexer = _Lexer()
    position = 0
    for found in [*_MARKER.finditer(rendered), None]:
        literal = rendered[position : found.start() if found else len(rendered)]
        if "\x00" in literal or (found is not None and int(found[1]) >= len(printed)):
            # A filter over a block ({% filter reverse %}) changed a marker: no telling
            # what it now stands for, so nothing of it is passed on.
            raise ShellPlacementError("a filter or block changed where a value goes")
        output.append(literal)
        if found is None:
            break
        lexer.read(literal)
        output.append(lexer.quote(printed[int(found[1])]))
        position = found.end()
    return "".join(output)


# Shell contexts: outside quotes, in single quotes, in double quotes, in a comment, in
# backticks, after a here-document operator, in a `${...}` inside double quotes.
_OUTSIDE, _SINGLE, _DOUBLE, _COMMENT, _BACKTICK, _HEREDOC, _QUOTED_PARAMETER = range(7)
_WORD_BREAKS = frozenset(" \t\n;&|()<>")


class _Lexer:
    """Just enough of the POSIX shell's reading to know where a value stands.

    `$(...)`, and `${...}` outside double quotes, open a nested context that ends at the
    matching `)` or `}`, where a value is quoted as outside quotes. Anything it cannot
    follow safely it refuses.
    """

    def __init__(self) -> None:
        self.stack: list[int] = [_OUTSIDE]
        self.closers: list[str] = [""]
        self.previous = " "
        self.escaped = False
        self.word = ""
        # A `case` inside `$(...)` has patterns ending in an unmatched `)`, which would
        # look like the end of the `$(`: from there on, where a value stands is unknown.
        self.lost = False

    def read(self, text: str) -> None:
        for char in text:
            self._step(char)

    def _step(self, char: str) -> None:
        state = self.stack[-1]
        if self.escaped:
            self.escaped = False
        elif state == _SINGLE:
            if char == "'":
                self._pop()
        elif state == _COMMENT:
            if char == "\n":
                self._pop()
        elif state in (_HEREDOC, _BACKTICK, _QUOTED_PARAMETER):
            if char == self.closers[-1]:
                self._pop()
        elif state == _DOUBLE:
            if char == "\\":
                self.escaped = True
            elif char == '"':
                self._pop()
            elif char == "`":
                self._push(_BACKTICK, "`")
            elif char == "(" and self.previous == "$":
                self._push(_OUTSIDE, ")")
            elif char == "{" and self.previous == "$":
                self._push(_QUOTED_PARAMETER, "}")
        else:  # outside quotes, possibly nested in $( ) or ${ }
            self._step_outside(char)
        self.previous = char

    def _step_outside(self, char: str) -> None:
        if char in _WORD_BREAKS:
            if self.word == "case" and len(self.stack) > 1:
                self.lost = True
            self.word = ""
        else:
            self.word += char
        if char == "\\":
            self.escaped = True
        elif char == "'":
            self._push(_SINGLE, "'")
        elif char == '"':
            self._push(_DOUBLE, '"')
        elif char == "`":
            self._push(_BACKTICK, "`")
        elif char == "#" and self.previous in _WORD_BREAKS:
            self._push(_COMMENT, "\n")
        elif char == "<" and self.previous == "<":
            self._push(_HEREDOC, "")
        elif char in "({" and self.previous == "$":
            self._push(_OUTSIDE, ")" if char == "(" else "}")
        elif char == "(":
            self._push(_OUTSIDE, ")")
        elif char == self.closers[-1] and len(self.stack) > 1:
            self._pop()

    def _push(self, state: int, closer: str) -> None:
        self.stack.append(state)
        self.closers.append(closer)
        self.word = ""

    def _pop(self) -> None:
        self.stack.pop()
        self.closers.pop()
        self.word = ""

    def quote(self, value: str) -> str:
        """`value` quoted for the current place, or `ShellPlacementError`."""
        if self.lost:
            raise ShellPlacementError("a value cannot follow a case statement inside $(...)")
        if self.escaped:
            raise ShellPlacementError("a value cannot follow a backslash")
        state = self.stack[-1]
        if state == _SINGLE:
            return value.replace("'", "'\\''")
        if state == _DOUBLE:
            return re.sub(r'([\\"$`])', r"\\\1", value)
        if state == _BACKTICK:
            raise ShellPlacementError("a value cannot be quoted inside backticks; use $(...)")
        if state == _COMMENT:
            raise ShellPlacementError("a value cannot be put in a comment")
        if state == _HEREDOC:
            raise ShellPlacementError("a value cannot be quoted after a here-document (<<)")
        if state == _QUOTED_PARAMETER:
            # Neither kind of quoting survives a `}` there: `"${x:-a}b}"` ends at the first.
            raise ShellPlacementError('a value cannot be quoted inside "${...}"')
        return shlex.quote(value)
