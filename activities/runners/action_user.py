"""Running actions as a user of their own, apart from the worker's.

An action running as the worker's user can read everything the worker can: its
environment in `/proc/<pid>/environ` (the database URL, the encryption key), the data
directory, other actions' files. With `ATTUNE_ACTION_USER` set, the worker (which must then
be root, to switch users) starts every action process as that user instead, with no
supplementary groups and `HOME` set to the run's own working directory.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from attune.config import SettingsError


class ActionUserError(SettingsError):
    """The configured action user cannot be used; the message says why."""


@dataclass(frozen=True)
class ActionUser:
    """Who action processes run as."""

    name: str
    uid: int
    gid: int

    def owns(self, path: Path) -> None:
        """Hand a folder the worker made for a run over to the action user."""
        os.chown(path, self.uid, self.gid)


def resolve_action_user(name: str | None) -> ActionUser | None:
    """The user named by ATTUNE_ACTION_USER, checked now so a worker fails at start-up."""
    if name is None or name == "":
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ActionUserError(f"ATTUNE_ACTION_USER: no user {name!r} on this machine") from None
    if entry.pw_uid == 0:
        raise ActionUserError("ATTUNE_ACTION_USER: must not be root, the point is to drop it")
    if os.geteuid() != 0 and os.geteuid() != entry.pw_uid:
        raise ActionUserError(
            f"ATTUNE_ACTION_USER: running actions as {name!r} needs a worker running as root "
            f"(this one runs as uid {os.geteuid()})"
        )
    return ActionUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
