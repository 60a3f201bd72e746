"""Finding an action's file inside its pack, and refusing anything outside it."""

from __future__ import annotations

from pathlib import Path

from activities.runners.types import ActionSpec


class EntryPointError(Exception):
    """The entry point cannot be run; the message says why, for the execution's error."""


def resolve_entry_point(action: ActionSpec, relative: str) -> Path:
    """The absolute path of `relative` under `<pack_path>/actions/`, which must be a file."""
    if not action.pack_path:
        raise EntryPointError(f"action {action.ref} has no pack folder on this worker")
    if not relative:
        raise EntryPointError(f"action {action.ref} has no entry point")
    pack = Path(action.pack_path).resolve()
    # resolve() follows symlinks too, so a link pointing out of the pack is refused as well.
    candidate = (pack / "actions" / relative).resolve()
    if not candidate.is_relative_to(pack):
        raise EntryPointError(f"entry point {relative!r} of {action.ref} is outside its pack")
    if not candidate.is_file():
        raise EntryPointError(f"entry point {relative!r} of {action.ref} does not exist")
    return candidate
