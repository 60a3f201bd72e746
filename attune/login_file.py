"""Where `attune login` keeps its session token: `$XDG_CONFIG_HOME/attune/token` (else
`~/.config/attune/token`), mode 0600, written atomically."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from attune.auth.admin import write_private


def login_file() -> Path:
    """The file of the session token of `attune login`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "attune" / "token"


def read_login_token() -> str | None:
    """The stored session token, or None when there is none."""
    try:
        return login_file().read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def store_login_token(token: str) -> Path:
    """Write the token, readable by its owner only (created 0600, swapped in atomically)."""
    path = login_file()
    write_private(path, token + "\n")
    return path


def forget_login_token() -> None:
    with contextlib.suppress(FileNotFoundError):
        login_file().unlink()
