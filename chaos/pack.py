"""The chaos pack: a shell action that marks the ledger, and the same under a FIFO limit of 2.

Both run `actions/mark.sh`, which appends `start ...` to the ledger, sleeps, and appends
`end ...`; each mark carries the execution id, the request's sequence number, the action,
a timestamp and the script's pid (see `chaos.ledger`). Inquiries use `core.ask`.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from attune.packs.archive_build import build_pack_archive

PACK = "chaos"
WORK = f"{PACK}.work"
FIFO = f"{PACK}.fifo"
FIFO_LIMIT = 2
ASK = "core.ask"

MARK_SCRIPT = """\
#!/bin/sh
# The chaos suite's action: a start mark, a short sleep, an end mark, in the ledger.
mark() {
  printf '%s %s %s %s %s %s\\n' "$1" "$ATTUNE_EXECUTION_ID" "$ATTUNE_PARAM_SEQ" \\
    "$ATTUNE_ACTION" "$(date +%s.%N)" "$$" >> "$ATTUNE_PARAM_LEDGER"
}
mark start
sleep "$ATTUNE_PARAM_SECONDS"
mark end
"""

_PARAMETERS = {
    "seq": {"type": "integer", "required": True, "description": "The request's number."},
    "seconds": {"type": "number", "required": True, "description": "How long to sleep."},
    "ledger": {"type": "string", "required": True, "description": "The file to mark."},
}


def _action(description: str) -> dict[str, object]:
    return {
        "runner_type": "local-shell-script",
        "entry_point": "mark.sh",
        "description": description,
        "parameters": _PARAMETERS,
        "timeout": 120,
    }


def write_pack(root: Path) -> Path:
    """Write the pack folder under `root` and return it."""
    folder = root / PACK
    (folder / "actions").mkdir(parents=True, exist_ok=True)
    (folder / "policies").mkdir(exist_ok=True)
    pack = {"ref": PACK, "label": "Chaos", "version": "1.0.0"}
    (folder / "pack.yaml").write_text(yaml.safe_dump(pack))
    files = {
        "actions/work.yaml": _action("Sleeps a little between two ledger marks."),
        "actions/fifo.yaml": _action("The same, at most two at once, in request order."),
        "policies/fifo_two.yaml": {"action": FIFO, "concurrency": {"limit": FIFO_LIMIT}},
    }
    for name, content in files.items():
        (folder / name).write_text(yaml.safe_dump(content))
    script = folder / "actions" / "mark.sh"
    script.write_text(MARK_SCRIPT)
    script.chmod(0o755)
    return folder


async def upload_pack(client: httpx.AsyncClient, folder: Path) -> None:
    """Register the pack as `attune pack register` does; raise unless it is accepted."""
    response = await client.post(
        "/packs/upload",
        content=build_pack_archive(folder),
        headers={"content-type": "application/gzip"},
        timeout=60.0,
    )
    if response.status_code != 200:
        raise RuntimeError(f"the chaos pack was refused: {response.status_code} {response.text}")
