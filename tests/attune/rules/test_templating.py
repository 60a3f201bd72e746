"""Rendering action parameters: types kept, strings rendered, failures named."""

from __future__ import annotations

from typing import Any

import pytest

from attune import errors
from attune.rules.templating import render_parameters

CONTEXT: dict[str, Any] = {
    "trigger": {"count": 3, "ok": False, "hosts": ["a", "b"], "body": {"name": "web"}},
    "event": {"id": 42, "trigger_ref": "core.webhook"},
    "rule": {"ref": "ops.on_failure"},
    "pack": {"config": {"base_url": "https://api.example"}},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.count }}", 3),
        ("  {{ trigger.count }}  ", 3),
        ("{{ trigger.ok }}", False),
        ("{{ trigger.hosts }}", ["a", "b"]),
        ("{{ trigger.body }}", {"name": "web"}),
        ("{{ trigger.count * 2 }}", 6),
        ("{{ event.id }}", 42),
        ("count={{ trigger.count }}", "count=3"),
        ("{{ trigger.count }}{{ trigger.count }}", "33"),
        (
            "{{ pack.config.base_url }}/hosts/{{ trigger.body.name }}",
            "https://api.example/hosts/web",
        ),
        ("{{ rule.ref | upper }}", "OPS.ON_FAILURE"),
        ("no template here", "no template here"),
        ("{% if trigger.ok %}yes{% else %}no{% endif %}", "no"),
    ],
)
def test_render_keeps_types_for_a_lone_expression(template: str, expected: Any) -> None:
    rendered = render_parameters({"value": template}, CONTEXT)["value"]
    assert rendered == expected
    assert type(rendered) is type(expected)


def test_nested_objects_and_lists_render_and_other_values_pass_through() -> None:
    parameters = {
        "headers": {"X-Host": "{{ trigger.body.name }}"},
        "targets": ["{{ trigger.hosts }}", "fixed", 7],
        "timeout": 30,
        "enabled": True,
        "nothing": None,
    }
    assert render_parameters(parameters, CONTEXT) == {
        "headers": {"X-Host": "web"},
        "targets": [["a", "b"], "fixed", 7],
        "timeout": 30,
        "enabled": True,
        "nothing": None,
    }


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"host": "{{ trigger.missing }}"}, "host"),
        ({"host": "name: {{ trigger.missing }}"}, "host"),
        ({"host": "{{ nowhere }}"}, "host"),
        ({"outer": {"inner": ["ok", "{{ trigger.missing }}"]}}, "outer.inner[1]"),
        ({"broken": "{{ trigger.count "}, "broken"),
    ],
)
def test_a_failure_names_the_parameter(parameters: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as raised:
        render_parameters(parameters, CONTEXT)
    assert raised.value.details == {"field": field}
    assert f"parameter {field}:" in raised.value.message


@pytest.mark.parametrize(
    "template",
    ["{{ trigger.count.__class__.__mro__ }}", "{{ trigger.hosts.append('x') }}"],
)
def test_the_sandbox_refuses_unsafe_access(template: str) -> None:
    with pytest.raises(errors.ValidationError, match=r"unsafe|not safely callable|immutable"):
        render_parameters({"value": template}, CONTEXT)
    assert CONTEXT["trigger"]["hosts"] == ["a", "b"]


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("{{ trigger.count / 0 }}", "ZeroDivisionError"),
        ("{{ trigger.count + trigger.name }}", "TypeError"),
        ("{{ range(3) }}", "TypeError"),
        ("count: {{ trigger.count / 0 }}", "ZeroDivisionError"),
    ],
)
def test_any_failure_of_a_template_is_a_validation_error_naming_the_parameter(
    template: str, kind: str
) -> None:
    context = {"trigger": {"count": 3, "name": "x"}}

    with pytest.raises(errors.ValidationError, match=kind) as raised:
        render_parameters({"value": template}, context)

    assert raised.value.details == {"field": "value"}
