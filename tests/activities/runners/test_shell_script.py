"""local-shell-script: scripts from the pack, run directly or with bash, never from outside."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from activities.runners import RunStatus, run_action
from tests.activities.runners.support import make_request, write_action


async def test_executable_script_runs_by_its_shebang(pack: Path) -> None:
    # Only an interpreter taken from the shebang can run this: bash would choke on it.
    write_action(
        pack,
        "report.py",
        f"#!{sys.executable}\nimport json, os\n"
        "print(json.dumps({'who': os.environ['ATTUNE_PARAM_WHO']}))\n",
        mode=0o755,
    )
    request = make_request(
        "local-shell-script", {"who": "me"}, entry_point="report.py", pack_path=pack
    )
    output = await run_action(request)
    assert output.status is RunStatus.COMPLETED, output.stderr
    assert output.result == {"who": "me"}


async def test_non_executable_script_runs_with_bash(pack: Path) -> None:
    write_action(pack, "sub/hello.sh", 'echo "${BASH_VERSION:+bash} $ATTUNE_PARAM_WHO"\nexit 4\n')
    request = make_request(
        "local-shell-script", {"who": "you"}, entry_point="sub/hello.sh", pack_path=pack
    )
    output = await run_action(request)
    assert output.status is RunStatus.FAILED
    assert output.stdout == "bash you\n"
    assert output.error == "exit code 4"


async def test_missing_script_fails(pack: Path) -> None:
    request = make_request("local-shell-script", entry_point="nope.sh", pack_path=pack)
    output = await run_action(request)
    assert output.status is RunStatus.FAILED
    assert output.error == "entry point 'nope.sh' of tests.local-shell-script does not exist"


def _escapes(pack: Path) -> list[str]:
    outside = pack.parent / "outside.sh"
    outside.write_text("echo escaped\n")
    (pack / "actions" / "link.sh").symlink_to(outside)
    return ["../../outside.sh", str(outside), "link.sh"]


async def test_entry_point_outside_the_pack_is_refused(pack: Path) -> None:
    for entry_point in _escapes(pack):
        request = make_request("local-shell-script", entry_point=entry_point, pack_path=pack)
        output = await run_action(request)
        assert output.status is RunStatus.FAILED, entry_point
        assert output.error is not None
        assert output.error.endswith("is outside its pack"), output.error
        assert output.stdout == ""


@pytest.mark.parametrize(
    ("entry_point", "pack_path", "message"),
    [
        ("", "pack", "action tests.local-shell-script has no entry point"),
        ("x.sh", None, "action tests.local-shell-script has no pack folder on this worker"),
    ],
)
async def test_entry_point_or_pack_missing(
    pack: Path, entry_point: str, pack_path: str | None, message: str
) -> None:
    request = make_request(
        "local-shell-script", entry_point=entry_point, pack_path=pack if pack_path else None
    )
    output = await run_action(request)
    assert output.status is RunStatus.FAILED
    assert output.error == message
