"""`attune rule list|enable|disable`, run as a person runs them, against a real API."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.attune import test_cli_inquiries
from tests.attune.test_cli_inquiries import RunAttune
from tests.db.factories import unique
from tests.pack_folders import register_pack, write_pack

api_url = test_cli_inquiries.api_url
attune = test_cli_inquiries.attune


async def test_the_cli_disables_and_enables_a_rule_and_lists_it(
    api: httpx.AsyncClient, attune: RunAttune, tmp_path: Path
) -> None:
    ref = unique("pk")
    rule = {"trigger": {"type": "core.cron", "parameters": {"expression": "0 0 1 1 *"}}}
    folder = write_pack(tmp_path, ref, rules={"yearly": rule | {"action": {"ref": "core.noop"}}})
    await register_pack(api, folder)

    disabled = await attune("rule", "disable", f"{ref}.yearly")
    listed = await attune("rule", "list", "--pack", ref)
    enabled = await attune("rule", "enable", f"{ref}.yearly")
    missing = await attune("rule", "enable", f"{ref}.nope")

    assert (disabled.code, disabled.stdout.strip()) == (0, f"rule {ref}.yearly is disabled")
    assert listed.code == 0, listed.stderr
    row = next(line.split() for line in listed.stdout.splitlines() if line.startswith(ref))
    assert row == [
        f"{ref}.yearly",
        "disabled",
        "core.cron",
        '{"expression":"0',
        "0",
        "1",
        "1",
        '*"}',
        "core.noop",
    ]
    assert (enabled.code, enabled.stdout.strip()) == (0, f"rule {ref}.yearly is enabled")
    assert (await api.get(f"/api/v1/rules/{ref}.yearly")).json()["enabled"] is True
    assert missing.code == 1
    assert "HTTP 404" in missing.stderr
    # Leave no timer behind for the tests after this one.
    (folder / "rules" / "yearly.yaml").unlink()
    await register_pack(api, folder)
