"""python-workflow actions: entry points checked at load, code kept by its digest."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from attune.packs.loader import load_pack
from attune.packs.registrar import register_pack
from db.repositories import workflow_code
from tests.attune.packs.packdir import problems_of, write_file, write_pack

FLOW = (
    "from attune.sdk import run_action\n\nclass Flow:\n    async def run(self):\n        return 1\n"
)


def workflow_pack(folder: Path, entry: str = "workflows/flow.py:Flow", source: str = FLOW) -> Path:
    write_pack(
        folder,
        {"actions/flow.yaml": {"runner_type": "python-workflow", "entry_point": entry}},
    )
    write_file(folder, "actions/workflows/flow.py", source)
    write_file(folder, "actions/workflows/helpers.py", "ANSWER = 42\n")
    return folder


def test_a_workflow_action_names_the_digest_of_the_packs_python(tmp_path: Path) -> None:
    pack = load_pack(workflow_pack(tmp_path / "p"))

    [action] = pack.actions
    assert pack.workflow_code is not None
    assert action.code_digest == pack.workflow_code.digest
    assert set(pack.workflow_code.files) == {"workflows/flow.py", "workflows/helpers.py"}


def test_changing_any_python_file_changes_the_digest(tmp_path: Path) -> None:
    first = load_pack(workflow_pack(tmp_path / "p")).workflow_code
    write_file(tmp_path / "p", "actions/workflows/helpers.py", "ANSWER = 43\n")
    second = load_pack(tmp_path / "p").workflow_code

    assert first is not None
    assert second is not None
    assert first.digest != second.digest


@pytest.mark.parametrize(
    ("entry", "source", "field", "says"),
    [
        ("workflows/flow.py", FLOW, "entry_point", "must be file.py:ClassName"),
        ("workflows/flow.py:Other", FLOW, "entry_point", "defines no class 'Other'"),
        (
            "workflows/flow.py:Flow",
            "class Flow:\n    def run(self):\n        return 1\n",
            "entry_point",
            "has no `async def run",
        ),
        ("workflows/missing.py:Flow", FLOW, "entry_point", "does not exist"),
    ],
)
def test_an_entry_point_that_cannot_run_is_refused_naming_it(
    tmp_path: Path, entry: str, source: str, field: str, says: str
) -> None:
    problems = problems_of(workflow_pack(tmp_path / "p", entry, source))

    assert [(p.file, p.field) for p in problems] == [("actions/flow.yaml", field)]
    assert says in problems[0].message


def test_a_syntax_error_in_any_python_file_names_file_and_line(tmp_path: Path) -> None:
    folder = workflow_pack(tmp_path / "p")
    write_file(folder, "actions/lib/broken.py", "def x(:\n    pass\n")

    [problem] = problems_of(folder)

    assert problem.file == "actions/lib/broken.py"
    assert problem.message.startswith("line 1:")


async def test_registering_keeps_every_version_of_the_code(
    session: AsyncSession, tmp_path: Path
) -> None:
    folder = workflow_pack(tmp_path / "p")
    first = load_pack(folder)
    await register_pack(session, first)
    write_file(folder, "actions/workflows/helpers.py", "ANSWER = 43\n")
    second = load_pack(folder)
    await register_pack(session, second)

    assert first.workflow_code is not None
    assert second.workflow_code is not None
    for version in (first.workflow_code, second.workflow_code):
        files = await workflow_code.files_of(session, digest=version.digest)
        assert files == version.files
    await session.rollback()
