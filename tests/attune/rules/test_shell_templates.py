"""Values rendered into a shell command are shell-quoted, as HTML templates autoescape.

Each case is run by a real `/bin/sh`, as the local-shell-cmd runner runs `cmd`: the test
proves the hostile value arrives as one argument and runs nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from attune.rules.templating import render_parameters

HOSTILE = [
    "checkout; rm -rf {target}",
    "$(rm -rf {target})",
    "`rm -rf {target}`",
    "x\nrm -rf {target}",
    'it\'s "quoted"; rm -rf {target}',
    "a | rm -rf {target}",
    "a && rm -rf {target}",
    "a || rm -rf {target}",
    "$HOME ${{IFS}} * ? ~ > {target}",
    "-n --help",
    "",
]


def _render_cmd(template: str, trigger: dict[str, Any]) -> str:
    rendered = render_parameters({"cmd": template}, {"trigger": trigger}, shell_parameters={"cmd"})[
        "cmd"
    ]
    assert isinstance(rendered, str)
    return rendered


def _run(cmd: str, cwd: Path) -> str:
    done = subprocess.run(
        ["/bin/sh", "-c", cmd], capture_output=True, text=True, cwd=cwd, check=True, timeout=10
    )
    return done.stdout


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_value_reaches_the_shell_as_one_argument(hostile: str, tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    service = hostile.format(target=target)

    cmd = _render_cmd("printf '%s|' rolling back {{ trigger.service }}", {"service": service})
    printed = _run(cmd, tmp_path)

    assert printed == f"rolling|back|{service}|"
    assert target.read_text() == "keep me"


def test_the_lone_expression_of_a_shell_parameter_is_quoted_text_too(tmp_path: Path) -> None:
    cmd = _render_cmd("{{ trigger.cmd }}", {"cmd": "echo hi; echo injected"})

    assert cmd == "'echo hi; echo injected'"
    assert isinstance(cmd, str)


def test_numbers_lists_and_statements_render_as_quoted_words(tmp_path: Path) -> None:
    cmd = _render_cmd(
        "printf '%s|' {{ trigger.n }} {% for h in trigger.hosts %}{{ h }} {% endfor %}",
        {"n": 3, "hosts": ["web 1", "$(id)"]},
    )

    assert _run(cmd, tmp_path) == "3|web 1|$(id)|"


def test_raw_shell_is_the_authors_explicit_way_out(tmp_path: Path) -> None:
    cmd = _render_cmd("{{ trigger.script | raw_shell }}", {"script": "echo one; echo two"})

    assert _run(cmd, tmp_path) == "one\ntwo\n"


def test_a_value_combined_after_raw_shell_is_quoted_again(tmp_path: Path) -> None:
    cmd = _render_cmd("echo {{ (trigger.a | raw_shell) ~ trigger.b }}", {"a": "x", "b": "; id"})

    assert _run(cmd, tmp_path) == "x; id\n"


def test_parameters_no_shell_runs_keep_their_values_and_types() -> None:
    rendered = render_parameters(
        {"cmd": "echo {{ trigger.s }}", "message": "say {{ trigger.s }}", "n": "{{ trigger.n }}"},
        {"trigger": {"s": "a; b", "n": 2}},
        shell_parameters={"cmd"},
    )

    assert rendered == {"cmd": "echo 'a; b'", "message": "say a; b", "n": 2}
