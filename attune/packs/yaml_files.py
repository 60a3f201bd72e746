"""Reading a pack's YAML files: safe loading, duplicate keys refused, errors with a line."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from attune.packs.problems import Problems


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing duplicate keys, which would otherwise silently keep the last."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep)


def read_mapping(folder: Path, file: str, problems: Problems) -> dict[str, Any] | None:
    """The top-level mapping of `folder/file`, or None after recording why it has none."""
    try:
        text = (folder / file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.add(file, None, f"cannot be read: {error}")
        return None
    try:
        # yaml.load with a SafeLoader subclass: as safe as yaml.safe_load.
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.add(file, None, f"invalid YAML: {where}{error.problem or error.context}")
        return None
    except yaml.YAMLError as error:
        problems.add(file, None, f"invalid YAML: {error}")
        return None
    if not isinstance(data, dict):
        problems.add(file, None, "must be a YAML mapping of field: value")
        return None
    return data
