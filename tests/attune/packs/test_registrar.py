"""Registering packs in the real PostgreSQL: create, update in place, remove, resolve refs.

Tests flush and never commit, except where a committed first version is needed to show
that a refused second one changes nothing; those delete their pack at the end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from attune.packs.loader import load_pack
from attune.packs.problems import PackError
from attune.packs.registrar import register_pack, register_pack_folder
from db.engine import create_session_factory
from db.repositories import action, pack, rule, trigger
from tests.attune.packs.packdir import CORE, write_pack
from tests.db.factories import make_action, make_pack, make_trigger, unique

NOOP: dict[str, Any] = {"runner_type": "noop"}


def sample_files(ref: str) -> dict[str, Any]:
    """Two actions, a trigger and a rule joining them, in pack `ref`."""
    return {
        "actions/first.yaml": NOOP | {"description": "First"},
        "actions/second.yaml": {
            "runner_type": "local-shell-cmd",
            "parameters": {"cmd": {"type": "string", "required": True}},
            "timeout": 60,
        },
        "triggers/hook.yaml": {"type": "webhook", "payload_schema": {"type": "object"}},
        "rules/run_first.yaml": {
            "trigger": f"{ref}.hook",
            "criteria": {"trigger.status": {"type": "equals", "pattern": "failed"}},
            "action": {"ref": f"{ref}.first", "parameters": {"x": "{{ trigger.x }}"}},
        },
    }


async def test_register_creates_everything(session: AsyncSession, tmp_path: Path) -> None:
    ref = unique("pk")
    folder = write_pack(tmp_path / ref, sample_files(ref), ref=ref, tags=["a"])
    summary = await register_pack_folder(session, folder)

    assert (summary.pack, summary.pack_change) == (ref, "created")
    assert summary.actions.created == (f"{ref}.first", f"{ref}.second")
    assert summary.triggers.created == (f"{ref}.hook",)
    assert summary.rules.created == (f"{ref}.run_first",)
    for changes in (summary.actions, summary.triggers, summary.rules):
        assert changes.updated == changes.unchanged == changes.removed == ()

    record = await pack.repository.get_by_key(session, ref)
    assert record.id == summary.pack_id
    assert (record.path, record.version, record.tags) == (str(folder.resolve()), "1.0.0", ["a"])
    second = await action.repository.get_by_key(session, f"{ref}.second")
    assert (second.pack_id, second.pack_ref, second.name) == (record.id, ref, "second")
    assert (second.runner_type, second.timeout_seconds, second.enabled) == (
        "local-shell-cmd",
        60,
        True,
    )
    assert second.parameters["required"] == ["cmd"]
    hook = await trigger.repository.get_by_key(session, f"{ref}.hook")
    assert (hook.trigger_type, hook.payload_schema) == ("webhook", {"type": "object"})
    joined = await rule.repository.get_by_key(session, f"{ref}.run_first")
    first = await action.repository.get_by_key(session, f"{ref}.first")
    assert (joined.trigger_id, joined.trigger_ref) == (hook.id, hook.ref)
    assert (joined.action_id, joined.action_ref) == (first.id, first.ref)
    assert joined.action_parameters == {"x": "{{ trigger.x }}"}
    assert joined.criteria["trigger.status"]["pattern"] == "failed"


async def test_registering_again_unchanged_changes_nothing(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    definition = load_pack(write_pack(tmp_path / ref, sample_files(ref), ref=ref))
    await register_pack(session, definition)
    again = await register_pack(session, definition)
    assert again.pack_change == "unchanged"
    assert again.actions.unchanged == (f"{ref}.first", f"{ref}.second")
    assert again.triggers.unchanged == (f"{ref}.hook",)
    assert again.rules.unchanged == (f"{ref}.run_first",)
    for changes in (again.actions, again.triggers, again.rules):
        assert changes.created == changes.updated == changes.removed == ()


async def test_changes_update_in_place_and_removed_components_go(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    folder = write_pack(tmp_path / ref, sample_files(ref), ref=ref)
    await register_pack_folder(session, folder)
    ids = {
        "pack": (await pack.repository.get_by_key(session, ref)).id,
        "first": (await action.repository.get_by_key(session, f"{ref}.first")).id,
        "hook": (await trigger.repository.get_by_key(session, f"{ref}.hook")).id,
        "rule": (await rule.repository.get_by_key(session, f"{ref}.run_first")).id,
    }

    changed = sample_files(ref)
    changed["actions/first.yaml"] = NOOP | {"description": "Changed", "enabled": False}
    del changed["actions/second.yaml"]
    changed["actions/third.yaml"] = NOOP
    changed["rules/run_first.yaml"]["action"]["parameters"] = {"x": 1}
    folder = write_pack(tmp_path / "v2", changed, ref=ref, version="1.1.0")
    summary = await register_pack_folder(session, folder)

    assert summary.pack_change == "updated"
    assert (summary.actions.created, summary.actions.updated, summary.actions.removed) == (
        (f"{ref}.third",),
        (f"{ref}.first",),
        (f"{ref}.second",),
    )
    assert summary.triggers.unchanged == (f"{ref}.hook",)
    assert summary.rules.updated == (f"{ref}.run_first",)

    record = await pack.repository.get_by_key(session, ref)
    assert (record.id, record.version, record.path) == (ids["pack"], "1.1.0", str(folder))
    first = await action.repository.get_by_key(session, f"{ref}.first")
    assert (first.id, first.description, first.enabled) == (ids["first"], "Changed", False)
    assert await action.repository.find_by_key(session, f"{ref}.second") is None
    assert (await trigger.repository.get_by_key(session, f"{ref}.hook")).id == ids["hook"]
    joined = await rule.repository.get_by_key(session, f"{ref}.run_first")
    assert (joined.id, joined.action_parameters, joined.action_id) == (
        ids["rule"],
        {"x": 1},
        first.id,
    )

    # And an emptied folder removes every component, keeping the pack.
    emptied = await register_pack_folder(session, write_pack(tmp_path / "v3", ref=ref))
    assert emptied.actions.removed == (f"{ref}.first", f"{ref}.third")
    assert emptied.triggers.removed == (f"{ref}.hook",)
    assert emptied.rules.removed == (f"{ref}.run_first",)
    for repository in (action.repository, trigger.repository, rule.repository):
        assert await repository.list(session, pack_id=ids["pack"]) == []


async def test_rules_may_use_other_packs(session: AsyncSession, tmp_path: Path) -> None:
    other = await make_pack(session)
    disabled = await make_action(session, other, name="off", enabled=False)
    hook = await make_trigger(session, other, name="hook")
    ref = unique("pk")
    files = {
        "rules/borrow.yaml": {"trigger": hook.ref, "action": {"ref": disabled.ref}},
    }
    summary = await register_pack_folder(session, write_pack(tmp_path / ref, files, ref=ref))
    assert summary.rules.created == (f"{ref}.borrow",)
    borrowed = await rule.repository.get_by_key(session, f"{ref}.borrow")
    assert (borrowed.trigger_id, borrowed.action_id) == (hook.id, disabled.id)
    assert borrowed.pack_ref == ref


async def test_removing_an_action_another_pack_uses_keeps_that_rule(
    session: AsyncSession, tmp_path: Path
) -> None:
    lender = unique("pk")
    await register_pack_folder(
        session, write_pack(tmp_path / "v1", {"actions/lent.yaml": NOOP}, ref=lender)
    )
    hook = await make_trigger(session)
    borrower = unique("pk")
    files = {"rules/r.yaml": {"trigger": hook.ref, "action": {"ref": f"{lender}.lent"}}}
    await register_pack_folder(session, write_pack(tmp_path / "b", files, ref=borrower))

    await register_pack_folder(session, write_pack(tmp_path / "v2", ref=lender))
    orphan = await rule.repository.get_by_key(session, f"{borrower}.r")
    # History-style: the id goes (SET NULL), the ref text stays to say what was meant.
    assert (orphan.action_id, orphan.action_ref) == (None, f"{lender}.lent")


async def test_unknown_refs_refuse_the_pack_and_write_nothing(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    files = sample_files(ref) | {
        "rules/lost.yaml": {
            "trigger": f"{unique('nopack')}.hook",
            "action": {"ref": f"{ref}.missing"},
        }
    }
    folder = write_pack(tmp_path / ref, files, ref=ref)
    with pytest.raises(PackError) as caught:
        async with session.begin():
            await register_pack_folder(session, folder)
    problems = [(problem.file, problem.field) for problem in caught.value.problems]
    assert problems == [("rules/lost.yaml", "trigger"), ("rules/lost.yaml", "action.ref")]
    assert "is pack 'nopack" in caught.value.problems[0].message
    assert "no actions/missing.yaml" in caught.value.problems[1].message

    assert await pack.repository.find_by_key(session, ref) is None
    assert await action.repository.find_by_key(session, f"{ref}.first") is None
    await session.rollback()


async def test_a_ref_to_a_component_being_removed_is_unknown(
    session: AsyncSession, tmp_path: Path
) -> None:
    ref = unique("pk")
    await register_pack_folder(session, write_pack(tmp_path / "v1", sample_files(ref), ref=ref))
    files = sample_files(ref)
    del files["actions/first.yaml"]  # still in the database, but about to go
    with pytest.raises(PackError) as caught:
        await register_pack_folder(session, write_pack(tmp_path / "v2", files, ref=ref))
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("rules/run_first.yaml", "action.ref")


@pytest.fixture
async def committed_pack(engine: AsyncEngine) -> AsyncIterator[str]:
    """A pack ref whose rows, committed by the test, are deleted afterwards."""
    ref = unique("pk")
    yield ref
    async with create_session_factory(engine)() as cleanup, cleanup.begin():
        found = await pack.repository.find_by_key(cleanup, ref)
        if found is not None:
            await pack.repository.delete(cleanup, id=found.id)  # content cascades


async def test_a_refused_update_leaves_the_registered_version(
    session: AsyncSession, engine: AsyncEngine, committed_pack: str, tmp_path: Path
) -> None:
    ref = committed_pack
    async with session.begin():
        await register_pack_folder(session, write_pack(tmp_path / "v1", sample_files(ref), ref=ref))

    broken = sample_files(ref)
    broken["actions/first.yaml"] = NOOP | {"description": "Never stored"}
    broken["rules/run_first.yaml"]["action"]["ref"] = f"{unique('nopack')}.gone"
    with pytest.raises(PackError):
        async with session.begin():
            await register_pack_folder(session, write_pack(tmp_path / "v2", broken, ref=ref))

    # A session of its own sees only what was committed.
    async with create_session_factory(engine)() as fresh:
        first = await action.repository.get_by_key(fresh, f"{ref}.first")
        assert first.description == "First"
        assert (await rule.repository.get_by_key(fresh, f"{ref}.run_first")).action_id == first.id
        assert (await pack.repository.get_by_key(fresh, ref)).path == str(
            (tmp_path / "v1").resolve()
        )


async def test_the_core_pack_registers(session: AsyncSession) -> None:
    # Ref `core` is shared by every test run: never commit it, roll back explicitly.
    try:
        summary = await register_pack_folder(session, CORE)
        assert summary.pack == "core"
        actions = summary.actions
        assert {*actions.created, *actions.updated, *actions.unchanged} == {
            "core.noop",
            "core.echo",
            "core.local",
            "core.http",
            "core.ask",
        }
        echo = await action.repository.get_by_key(session, "core.echo")
        assert (echo.runner_type, echo.entry_point) == ("python-script", "echo.py")
        assert (await pack.repository.get_by_key(session, "core")).path == str(CORE)
        webhook = await trigger.repository.get_by_key(session, "core.webhook")
        assert webhook.trigger_type == "webhook"
    finally:
        await session.rollback()
