"""`attune inquiry list` output: one aligned line per inquiry."""

from __future__ import annotations

from attune.inquiry_table import inquiry_table


def test_inquiries_line_up_under_the_header() -> None:
    table = inquiry_table(
        [
            {
                "id": 12,
                "status": "pending",
                "execution_id": 340,
                "timeout_at": "2026-01-02T05:04:05+02:00",
                "assignees": ["alice", "bob"],
                "prompt": "Deploy\n  to production?",
            },
            {
                "id": 9,
                "status": "timeout",
                "execution_id": 7,
                "timeout_at": None,
                "assignees": [],
                "prompt": "x" * 100,
            },
        ]
    )

    header, first, second = table.splitlines()
    assert header.split() == ["ID", "STATUS", "EXECUTION", "EXPIRES", "ASSIGNEES", "PROMPT"]
    assert first.split("  ")[0] == "12"
    assert "2026-01-02 03:04:05 UTC" in first
    assert first.endswith("alice,bob  Deploy to production?")
    assert second.index("(anyone)") == first.index("alice,bob")
    assert second.endswith("x" * 57 + "...")


def test_no_inquiries_says_so() -> None:
    assert inquiry_table([]) == "(no inquiries)"
