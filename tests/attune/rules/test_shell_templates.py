"""Values rendered into a shell command are shell-quoted, as HTML templates autoescape.

Each case is run by a real `/bin/sh`, as the local-shell-cmd runner runs `cmd`: the test
proves the hostile value arrives as one argument and runs nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from attune import errors
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


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("printf '%s|' '{{ trigger.v }}'", "{v}|"),
        ("printf '%s|' \"{{ trigger.v }}\"", "{v}|"),
        ("printf '%s|' \"prefix {{ trigger.v }} suffix\"", "prefix {v} suffix|"),
        ("printf '%s|' 'in {{ trigger.v }} quotes'", "in {v} quotes|"),
        ("printf '%s|' \"$(printf '%s' {{ trigger.v }})\"", "{v}|"),
        ("x=${UNSET:-{{ trigger.v }}}; printf '%s|' \"$x\"", "{v}|"),
        ("printf '%s|' --name={{ trigger.v }}", "--name={v}|"),
    ],
)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_value_in_the_authors_own_quotes_is_quoted_for_them(
    template: str, expected: str, hostile: str, tmp_path: Path
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    value = hostile.format(target=target)

    printed = _run(_render_cmd(template, {"v": value}), tmp_path)

    assert printed == expected.format(v=value)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("printf '%s|' '{{ trigger.v }}'", "it's $(id)|"),
        ("printf '%s|' \"{{ trigger.v }}\"", "it's $(id)|"),
        ("printf '%s|' \"a {{ trigger.v }} b\"", "a it's $(id) b|"),
        ("printf '%s|' x{{ trigger.v }}y", "xit's $(id)y|"),
    ],
)
def test_the_value_arrives_exactly_whatever_the_quotes_around_it(
    template: str, expected: str, tmp_path: Path
) -> None:
    assert _run(_render_cmd(template, {"v": "it's $(id)"}), tmp_path) == expected


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("echo `echo {{ trigger.v }}`", "backticks"),
        ('echo "`echo {{ trigger.v }}`"', "backticks"),
        ("echo hi # {{ trigger.v }}", "comment"),
        ("cat <<EOF\n{{ trigger.v }}\nEOF", "here-document"),
        ("echo \\{{ trigger.v }}", "backslash"),
        ('echo "${UNSET:-{{ trigger.v }}}"', '"${...}"'),
        ('echo "$(case x in x) echo {{ trigger.v }};; esac)"', "case statement"),
        ("{% filter reverse %}echo {{ trigger.v }}{% endfilter %}", "changed where a value goes"),
    ],
)
def test_a_value_where_no_quoting_is_safe_is_refused_naming_the_place(
    template: str, says: str
) -> None:
    with pytest.raises(errors.ValidationError) as refused:
        _render_cmd(template, {"v": "x\nid"})

    assert says in refused.value.message
    assert refused.value.details == {"field": "cmd"}


def test_macros_blocks_and_autoescape_cannot_unquote_a_value(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    value = f"a\nrm -rf {target}\n'; rm -rf {target}; '"
    templates = [
        "{% macro m(x) %}{{ x }}{% endmacro %}printf '%s|' {{ m(trigger.v) }}",
        "{% set line %}{{ trigger.v }}{% endset %}printf '%s|' {{ line }}",
        "{% autoescape true %}printf '%s|' {{ trigger.v }}{% endautoescape %}",
        "{% filter trim %}  printf '%s|' {{ trigger.v }}  {% endfilter %}",
    ]
    for template in templates:
        printed = _run(_render_cmd(template, {"v": value}), tmp_path)
        assert printed == f"{value}|", template
    assert target.read_text() == "keep me"


def test_shell_quote_protects_a_value_through_a_second_shell(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    value = f"a; rm -rf {target}"

    cmd = _render_cmd("sh -c \"printf '%s|' {{ trigger.v | shell_quote }}\"", {"v": value})

    assert _run(cmd, tmp_path) == f"{value}|"
    assert target.read_text() == "keep me"
