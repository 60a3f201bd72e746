"""Registering policies in the real PostgreSQL: created, updated in place, removed, refs resolved.

Tests flush and never commit; the `session` fixture's transaction goes with the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune.packs.problems import PackError
from attune.packs.registrar import register_pack_folder
from db.repositories import action, pack, policy
from tests.attune.packs.packdir import write_pack
from tests.db.factories import make_action, unique

NOOP: dict[str, Any] = {"runner_type": "noop"}


def policy_files(ref: str, lent: str) -> dict[str, Any]:
    """An action and two policies: one on that action, one on `lent` from another pack."""
    return {
        "actions/work.yaml": NOOP,
        "policies/throttle.yaml": {
            "action": f"{ref}.work",
            "concurrency": {"limit": 2, "max_queue_length": 5},
            "method": "cancel",
            "description": "Two at once",
        },
        "policies/borrowed.yaml": {"action": lent, "rate_limit": {"per_second": 3}},
    }


async def test_register_creates_policies_on_own_and_other_packs_actions(
    session: AsyncSession, tmp_path: Path
) -> None:
    lent = await make_action(session)
    ref = unique("pk")
    summary = await register_pack_folder(
        session, write_pack(tmp_path / ref, policy_files(ref, lent.ref), ref=ref)
    )

    assert summary.policies.created == (f"{ref}.borrowed", f"{ref}.throttle")
    record = await pack.repository.get_by_key(session, ref)
    work = await action.repository.get_by_key(session, f"{ref}.work")
    throttle = await policy.repository.get_by_key(session, f"{ref}.throttle")
    assert (throttle.pack_id, throttle.pack_ref, throttle.name) == (record.id, ref, "throttle")
    assert (throttle.action_id, throttle.action_ref) == (work.id, work.ref)
    assert (
        throttle.concurrency_limit,
        throttle.max_queue_length,
        throttle.on_full,
        throttle.method,
        throttle.rate_limit_per_second,
        throttle.enabled,
        throttle.description,
    ) == (2, 5, "reject", "cancel", None, True, "Two at once")
    borrowed = await policy.repository.get_by_key(session, f"{ref}.borrowed")
    assert (borrowed.action_id, borrowed.action_ref) == (lent.id, lent.ref)
    assert (borrowed.pack_ref, borrowed.concurrency_limit, borrowed.rate_limit_per_second) == (
        ref,
        None,
        3.0,
    )


async def test_policies_update_in_place_and_go_when_their_file_goes(
    session: AsyncSession, tmp_path: Path
) -> None:
    lent = await make_action(session)
    ref = unique("pk")
    files = policy_files(ref, lent.ref)
    await register_pack_folder(session, write_pack(tmp_path / "v1", files, ref=ref))
    throttle_id = (await policy.repository.get_by_key(session, f"{ref}.throttle")).id

    # The same files again: nothing changes (3 is compared as the stored 3.0).
    again = await register_pack_folder(session, write_pack(tmp_path / "v2", files, ref=ref))
    assert again.policies.unchanged == (f"{ref}.borrowed", f"{ref}.throttle")
    assert again.policies.created == again.policies.updated == again.policies.removed == ()

    changed = dict(files)
    changed["policies/throttle.yaml"] = {
        "action": f"{ref}.work",
        "rate_limit": {"per_second": 0.25},
        "enabled": False,
    }
    del changed["policies/borrowed.yaml"]
    summary = await register_pack_folder(session, write_pack(tmp_path / "v3", changed, ref=ref))

    assert summary.policies.updated == (f"{ref}.throttle",)
    assert summary.policies.removed == (f"{ref}.borrowed",)
    throttle = await policy.repository.get_by_key(session, f"{ref}.throttle")
    assert throttle.id == throttle_id
    # The concurrency limit is gone and its settings back to their defaults.
    assert (
        throttle.concurrency_limit,
        throttle.max_queue_length,
        throttle.method,
        throttle.rate_limit_per_second,
        throttle.enabled,
        throttle.description,
    ) == (None, 10000, "enqueue", 0.25, False, None)
    assert await policy.repository.find_by_key(session, f"{ref}.borrowed") is None
    # The action borrowed from is untouched.
    assert await action.repository.find_by_key(session, lent.ref) is not None


async def test_unknown_actions_refuse_the_pack_naming_file_and_field(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    nopack = unique("nopack")
    files = {
        "actions/work.yaml": NOOP,
        "triggers/hook.yaml": {"type": "webhook"},
        "rules/run.yaml": {"trigger": f"{ref}.hook", "action": {"ref": f"{ref}.missing"}},
        "policies/own.yaml": {"action": f"{ref}.missing", "concurrency": {"limit": 1}},
        "policies/other.yaml": {"action": f"{nopack}.gone", "concurrency": {"limit": 1}},
        "policies/fine.yaml": {"action": f"{ref}.work", "concurrency": {"limit": 1}},
    }

    with pytest.raises(PackError) as caught:
        await register_pack_folder(session, write_pack(tmp_path / ref, files, ref=ref))

    problems = {(problem.file, problem.field): problem.message for problem in caught.value.problems}
    assert list(problems) == [
        ("rules/run.yaml", "action.ref"),
        ("policies/other.yaml", "action"),
        ("policies/own.yaml", "action"),
    ]
    assert "no actions/missing.yaml" in problems["policies/own.yaml", "action"]
    assert f"is pack {nopack!r} registered?" in problems["policies/other.yaml", "action"]
    assert "policies/other.yaml: action: unknown action" in caught.value.message
    # Refused before anything was written.
    assert await pack.repository.find_by_key(session, ref) is None
    assert await policy.repository.find_by_key(session, f"{ref}.fine") is None


async def test_a_policy_on_an_action_being_removed_is_unknown(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    files = {
        "actions/work.yaml": NOOP,
        "policies/throttle.yaml": {"action": f"{ref}.work", "concurrency": {"limit": 1}},
    }
    await register_pack_folder(session, write_pack(tmp_path / "v1", files, ref=ref))
    del files["actions/work.yaml"]  # still in the database, but about to go

    with pytest.raises(PackError) as caught:
        await register_pack_folder(session, write_pack(tmp_path / "v2", files, ref=ref))

    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("policies/throttle.yaml", "action")


async def test_removing_an_action_another_pack_limits_keeps_that_policy(
    session: AsyncSession, tmp_path: Path
) -> None:
    lender = unique("pk")
    await register_pack_folder(
        session, write_pack(tmp_path / "v1", {"actions/lent.yaml": NOOP}, ref=lender)
    )
    borrower = unique("pk")
    files = {"policies/p.yaml": {"action": f"{lender}.lent", "concurrency": {"limit": 1}}}
    await register_pack_folder(session, write_pack(tmp_path / "b", files, ref=borrower))

    await register_pack_folder(session, write_pack(tmp_path / "v2", ref=lender))

    orphan = await policy.repository.get_by_key(session, f"{borrower}.p")
    assert (orphan.action_id, orphan.action_ref) == (None, f"{lender}.lent")
