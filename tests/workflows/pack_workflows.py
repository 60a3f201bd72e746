"""Packs with workflows written as code, for tests, in a line each."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import register_pack, write_pack

# A shell action children can run: prints its parameters, sleeps `seconds`, exits `code`.
STEP = {
    "runner_type": "local-shell-cmd",
    "parameters": {
        "cmd": {
            "type": "string",
            "default": 'sleep "$ATTUNE_PARAM_SECONDS"; cat; exit "$ATTUNE_PARAM_CODE"',
        },
        "seconds": {"type": "number", "default": 0},
        "code": {"type": "integer", "default": 0},
        "label": {"type": "string", "default": ""},
    },
}


def workflow_action(
    entry: str, parameters: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "runner_type": "python-workflow",
        "entry_point": entry,
        "parameters": dict(parameters or {}),
        **extra,
    }


def write_workflow_pack(
    root: Path,
    *,
    code: Mapping[str, str],
    actions: Mapping[str, Mapping[str, Any]],
    ref: str | None = None,
    **kinds: Any,
) -> tuple[str, Path]:
    """A pack whose `code` files live under actions/ (dedented), with a `step` action."""
    ref = ref or unique("wf")
    folder = write_pack(
        root,
        ref,
        actions={"step": STEP, **actions},
        scripts={name: textwrap.dedent(text) for name, text in code.items()},
        **kinds,
    )
    return ref, folder


async def run_workflow(
    api: httpx.AsyncClient, action: str, parameters: Mapping[str, Any] | None = None
) -> int:
    response = await api.post(
        "/api/v1/executions", json={"action": action, "parameters": dict(parameters or {})}
    )
    assert response.status_code == 201, response.text
    execution_id: int = response.json()["id"]
    return execution_id


async def finished(api: httpx.AsyncClient, execution_id: int, within: float = 60) -> dict[str, Any]:
    return await wait_for_status(api, execution_id, within=within)


async def children_of(api: httpx.AsyncClient, execution_id: int) -> list[dict[str, Any]]:
    """The parent's children, oldest first."""
    page = await api.get("/api/v1/executions", params={"parent": execution_id, "limit": 1000})
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return sorted(items, key=lambda item: item["id"])


async def register(api: httpx.AsyncClient, folder: Path) -> None:
    await register_pack(api, folder)


FLOW_FILE = "workflows/flow.py"


async def register_flow_pack(
    api: httpx.AsyncClient, root: Path, source: str, actions: Mapping[str, Mapping[str, Any]]
) -> str:
    """Register a pack whose `actions/workflows/flow.py` is `source` (PACK in it replaced by
    the pack's ref), with `actions` beside `step`; the pack's ref."""
    ref = unique("wf")
    write_workflow_pack(
        root, code={FLOW_FILE: source.replace("PACK", ref)}, actions=actions, ref=ref
    )
    await register(api, root / ref)
    return ref


async def pack_with(
    api: httpx.AsyncClient, root: Path, entry: str, source: str, **action: Any
) -> str:
    """Register a pack whose workflow `flow` runs `source` (PACK replaced by the pack's ref)."""
    return await register_flow_pack(api, root, source, {"flow": workflow_action(entry, **action)})
