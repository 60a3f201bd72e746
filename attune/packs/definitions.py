"""A pack as loaded from its folder: checked, and ready to register.

Each component keeps the file it came from, so the registrar can name it in errors; its
other fields are named after the database columns they fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from activities.runners.types import RUNNER_TYPES, WORKFLOW_RUNNER_TYPES

KNOWN_RUNNER_TYPES = RUNNER_TYPES | WORKFLOW_RUNNER_TYPES
"""Runner types an action may name: exactly those a worker can run."""

SCRIPT_RUNNER_TYPES = frozenset({"local-shell-script", "python-script"})
"""Runners whose entry point is a file under the pack's `actions/` folder."""

TRIGGER_TYPES = frozenset({"webhook", "custom"})
"""Trigger types a pack may declare (timers are made by Attune, not shipped in packs)."""


@dataclass(frozen=True)
class ActionDefinition:
    """An action file: `parameters` is already the JSON Schema the database stores."""

    file: str
    name: str
    runner_type: str
    label: str | None = None
    description: str | None = None
    entry_point: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    timeout_seconds: int | None = None
    enabled: bool = True


@dataclass(frozen=True)
class TriggerDefinition:
    """A trigger file."""

    file: str
    name: str
    trigger_type: str = "custom"
    label: str | None = None
    description: str | None = None
    payload_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleDefinition:
    """A rule file; its trigger and action refs are resolved when registering."""

    file: str
    name: str
    trigger_ref: str
    action_ref: str
    label: str | None = None
    description: str | None = None
    criteria: dict[str, Any] = field(default_factory=dict)
    action_parameters: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class PackDefinition:
    """A whole pack: `pack.yaml`'s fields, the folder's absolute path and its components."""

    path: Path
    ref: str
    label: str
    version: str
    description: str | None = None
    author: str | None = None
    config_schema: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    actions: tuple[ActionDefinition, ...] = ()
    triggers: tuple[TriggerDefinition, ...] = ()
    rules: tuple[RuleDefinition, ...] = ()

    def ref_of(self, name: str) -> str:
        """The ref of this pack's component called `name`."""
        return f"{self.ref}.{name}"
