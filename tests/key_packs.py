"""A pack whose action reports what it was given, fired in a line, for key template tests.

The action `show` returns its parameters, a secret `token` only as its SHA-256, so a test
sees what reached the action without the result holding the secret.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.keys import row_text
from tests.pack_folders import write_pack

SHOW = """import hashlib


def run(token=None, **parameters):
    digest = None if token is None else hashlib.sha256(token.encode()).hexdigest()
    return {"parameters": parameters, "token_sha256": digest}
"""

PARAMETERS: dict[str, Any] = {
    "port": {"type": "integer"},
    "text": {"type": "string"},
    "plain": {"type": "string"},
    "token": {"type": "string", "secret": True},
}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def a_secret() -> str:
    return f"s3cret-{uuid.uuid4().hex}"


def key_pack(
    tmp_path: Path,
    rules: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    parameters: Mapping[str, Any] | None = None,
    ref: str | None = None,
    **pack_fields: Any,
) -> tuple[str, Path]:
    """A pack with the action `show` and a rule on its webhook per entry of `rules`."""
    ref = ref or unique("kt")
    folder = write_pack(
        tmp_path,
        ref,
        actions={
            "show": {
                "runner_type": "python-script",
                "entry_point": "show.py",
                "parameters": dict(parameters or PARAMETERS),
            }
        },
        triggers={"hook": {"type": "webhook", "payload_schema": {"type": "object"}}},
        rules={
            name: {
                "trigger": f"{ref}.hook",
                "action": {"ref": f"{ref}.show", "parameters": dict(values)},
            }
            for name, values in (rules or {}).items()
        },
        scripts={"show.py": SHOW},
        **pack_fields,
    )
    return ref, folder


async def fire(api: httpx.AsyncClient, ref: str, payload: Any = None) -> dict[str, Any]:
    """Post to the pack's webhook; the rows it caused, each execution waited for, by rule."""
    response = await api.post(f"/api/v1/webhooks/{ref}.hook", json=payload or {})
    assert response.status_code == 202, response.text
    caused = response.json()
    ran: dict[str, Any] = {"event_id": caused["event_id"]}
    for execution_id in caused["execution_ids"]:
        execution = await wait_for_status(api, execution_id)
        rule = execution["rule_ref"].rpartition(".")[2]
        enforcement = await api.get(f"/api/v1/enforcements/{execution['enforcement_id']}")
        ran[rule] = {"execution": execution, "enforcement": enforcement.json()}
    return ran


async def assert_nowhere(engine: AsyncEngine, secret: str, **rows: int) -> None:
    """No column of these rows (table=id) holds `secret` in clear."""
    for table, id in rows.items():
        assert secret not in await row_text(engine, table, id), f"{table} {id} holds it"
