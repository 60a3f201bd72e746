"""Reading a pack's YAML files: confined to the pack, bounded, duplicate keys refused.

A pack may come from anyone allowed to upload one, so a file is read only when it is a
regular file inside the pack (a symbolic link to `/etc/shadow` is refused unread), and
only up to `MAX_PACK_FILE_BYTES`. Parsing is bounded as well: nesting beyond `MAX_DEPTH`
and alias "bombs" that expand past `MAX_NODES` are refused before any value is built, so
every later walk over the data (schema checks, JSON encoding) stays cheap and shallow.

A problem never quotes the file: YAML errors give a line, a column and PyYAML's short
problem text, nothing of the line itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from attune.excerpts import excerpt, shortened
from attune.json_limits import MAX_JSON_DEPTH
from attune.packs.json_values import json_value_problems
from attune.packs.problems import Problems

MAX_PACK_FILE_BYTES = 1024 * 1024
"""The largest pack file read (1 MiB); a larger one is a problem, not read at all."""

MAX_DEPTH = MAX_JSON_DEPTH
"""The deepest nesting of mappings and lists accepted (a scalar adds no level)."""

MAX_NODES = 100_000
"""The most values a file may hold, an alias counting as often as it is used."""

OUTSIDE_THE_PACK = "is a symbolic link leading outside the pack; refused"
"""The problem of a file or folder whose real path is not inside the pack."""

LINK_LOOP = "is a loop of symbolic links; refused"
"""The problem of a file or folder whose links lead back to themselves."""

_PROBLEM_CHARS = 120
"""The most of PyYAML's problem text quoted: it can hold a tag or an anchor's name."""

_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TOO_MANY_DIGITS = "an integer with too many digits"

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
"""Never through a link swapped in after the check; never blocking on a FIFO."""


class _Refused(ComposerError):
    """Valid YAML refused for its shape (too deep, too large, recursive), with a mark."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys, deep nesting, alias bombs and unwritable numbers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._checked_mappings: set[int] = set()

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        # The composer recurses once per level: stop at the limit, long before Python's.
        # Untyped in the stubs; the pure-Python parser's events carry pure-Python marks.
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        nests = isinstance(event, MappingStartEvent | SequenceStartEvent)
        if nests:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
        try:
            return super().compose_node(parent, index)
        finally:
            if nests:
                self._depth -= 1

    def get_single_data(self) -> Any:
        # As BaseConstructor's, measuring the node graph before anything is built from it.
        node = self.get_single_node()
        if node is None:
            return None
        _measure(node)
        return self.construct_document(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep=deep)
        except ValueError as error:  # `2024-13-45` as a date, or an int of 5000 digits
            problem = _TOO_MANY_DIGITS if node.tag == _INT_TAG else str(error)
            raise ConstructorError(None, None, problem, node.start_mark) from None
        # Python refuses to write an int of over 4300 digits in decimal (so in any error or
        # JSON): a hexadecimal one would be read, then break everything that shows it.
        if isinstance(value, int) and value.bit_length() > 64:
            try:
                str(value)
            except ValueError:
                raise ConstructorError(None, None, _TOO_MANY_DIGITS, node.start_mark) from None
        return value

    def flatten_mapping(self, node: MappingNode) -> None:
        # Called on every mapping before it is built, and on each merged into another; the
        # first call sees the mapping's own keys, before `<<` adds the merged ones (which
        # its own keys then override, as YAML means them to).
        if id(node) not in self._checked_mappings:
            self._checked_mappings.add(id(node))
            self._refuse_duplicate_keys(node)
        super().flatten_mapping(node)

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {excerpt(key)}",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _measure(root: Node) -> None:
    """Refuse a node graph whose expansion is deeper than MAX_DEPTH or larger than MAX_NODES.

    An alias is the node it names, shared: `[*a, *a]` holds `a` twice. Sizes and depths
    are memoized by node identity, so the walk costs one visit per node however often it
    is shared, and it is iterative, so a deep graph cannot exhaust Python's stack. A node
    met again while still open is an alias inside the very node it names: refused too.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node): (size, depth)
    open_ids: set[int] = set()
    pending: list[tuple[Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        key = id(node)
        if children_done:
            children = [measured[id(child)] for child in _children(node)]
            size = 1 + sum(child_size for child_size, _ in children)
            nests = isinstance(node, MappingNode | SequenceNode)
            depth = max((child_depth for _, child_depth in children), default=0) + nests
            if depth > MAX_DEPTH:
                raise _Refused(
                    None,
                    None,
                    f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded",
                    node.start_mark,
                )
            if size > MAX_NODES:
                raise _Refused(
                    None,
                    None,
                    f"holds more than {MAX_NODES} values (an alias counts each time it is used)",
                    node.start_mark,
                )
            measured[key] = (size, depth)
            open_ids.discard(key)
            continue
        if key in measured:
            continue
        if key in open_ids:
            raise _Refused(
                None, None, "an alias inside the node it names (a recursive value)", node.start_mark
            )
        open_ids.add(key)
        pending.append((node, True))
        pending.extend((child, False) for child in _children(node) if id(child) not in measured)


def read_mapping(folder: Path, file: str, problems: Problems) -> dict[str, Any] | None:
    """The top-level mapping of `folder/file`, or None after recording why it has none."""
    text = _read_text(folder, file, problems)
    if text is None:
        return None
    try:
        # yaml.load with a SafeLoader subclass: as safe as yaml.safe_load.
        data = yaml.load(text, Loader=_StrictLoader)
    except _Refused as error:
        problems.add(file, None, f"{_where(error)}{error.problem}; refused")
        return None
    except yaml.MarkedYAMLError as error:
        problem = shortened(str(error.problem or error.context), _PROBLEM_CHARS)
        problems.add(file, None, f"invalid YAML: {_where(error)}{problem}")
        return None
    except yaml.YAMLError as error:
        # A reader error: its first line names the character, not the text around it.
        problem = shortened(str(error).partition("\n")[0], _PROBLEM_CHARS)
        problems.add(file, None, f"invalid YAML: {problem}")
        return None
    except RecursionError:
        # The depth limit stops the composer first; this is for a smaller stack than usual.
        problems.add(file, None, f"nested deeper than {MAX_DEPTH} levels; refused")
        return None
    if not isinstance(data, dict):
        problems.add(file, None, "must be a YAML mapping of field: value")
        return None
    unstorable = list(json_value_problems(data))
    for field, message in unstorable:
        problems.add(file, field, message)
    return None if unstorable else data


def _where(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _read_text(folder: Path, file: str, problems: Problems) -> str | None:
    """The text of `folder/file` if it is a regular file inside the pack, of a bounded size."""
    root = folder.resolve()
    try:
        path = (root / file).resolve()
    except RuntimeError:  # pathlib's word for a loop of links
        problems.add(file, None, LINK_LOOP)
        return None
    if not path.is_relative_to(root):
        problems.add(file, None, OUTSIDE_THE_PACK)
        return None
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        # strerror only: the error's own text holds the absolute path on the server.
        problems.add(file, None, f"cannot be read: {error.strerror}")
        return None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            problems.add(file, None, "is not a regular file; not read")
            return None
        limit = f"the limit of {MAX_PACK_FILE_BYTES} bytes"
        if info.st_size > MAX_PACK_FILE_BYTES:
            problems.add(file, None, f"is {info.st_size} bytes, more than {limit}; not read")
            return None
        raw = stream.read(MAX_PACK_FILE_BYTES + 1)
    if len(raw) > MAX_PACK_FILE_BYTES:  # it grew while being read
        problems.add(file, None, f"is more than {limit}; not read")
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.add(file, None, f"is not UTF-8 text ({error.reason} at byte {error.start})")
        return None
