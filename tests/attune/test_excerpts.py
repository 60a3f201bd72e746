"""Quoting values in errors: short and escaped."""

from __future__ import annotations

from attune.excerpts import EXCERPT_CHARS, excerpt, field_name


def test_a_short_value_is_quoted_whole() -> None:
    assert excerpt("checkout") == "'checkout'"
    assert excerpt(3) == "3"


def test_a_long_value_is_cut_to_the_limit_with_an_ellipsis() -> None:
    quoted = excerpt("x" * 10_000)

    assert len(quoted) == EXCERPT_CHARS
    assert quoted.startswith("'xxx")
    assert quoted.endswith("…")


def test_control_characters_are_escaped_not_passed_through() -> None:
    assert excerpt("a\nb\x00c\x1b[31m") == "'a\\nb\\x00c\\x1b[31m'"


def test_a_plain_key_names_its_field_as_it_is_and_any_other_is_an_excerpt() -> None:
    assert field_name("runner_type") == "runner_type"
    assert field_name("parameters.count[0]") == "parameters.count[0]"
    assert field_name("root:$6$salt$hash:19000:0:99999:7:::") == (
        "'root:$6$salt$hash:19000:0:99999:7:::'"
    )
    assert len(field_name("k" * 500)) == EXCERPT_CHARS


def test_an_integer_too_long_to_write_is_described_not_written() -> None:
    assert excerpt(10**5000) == "<an integer of 16610 bits>"
