"""Where `attune up` tells its operator what it does: stderr, one line per event."""

from __future__ import annotations

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)
