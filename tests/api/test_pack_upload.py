"""`POST /packs/upload`: a pack sent as an archive, unpacked into the packs folder, checked."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from attune.config import Settings
from attune.packs.archive import MAX_ARCHIVE_BYTES
from attune.packs.archive_build import build_pack_archive
from attune.packs.uploads import KEPT_VERSIONS, UPLOADS_FOLDER
from tests.api.test_bounded_requests import CountingBody
from tests.conftest import api_client
from tests.db.factories import unique
from tests.executions import wait_for_status
from tests.pack_folders import write_pack
from tests.workflows.pack_workflows import workflow_action, write_workflow_pack

GZIP = {"content-type": "application/gzip"}
HELLO = "#!/bin/sh\necho hello from {version}\n"


def hello_pack(root: Path, ref: str, version: str) -> Path:
    return write_pack(
        root,
        ref,
        actions={"hello": {"runner_type": "local-shell-script", "entry_point": "hello.sh"}},
        scripts={"hello.sh": HELLO.format(version=version)},
    )


def tar_gz(members: Iterator[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def member(name: str, data: bytes = b"", **fields: object) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data if info.isreg() else None


def uploads_of(settings: Settings) -> Path:
    return settings.pack_folders[0] / UPLOADS_FOLDER


def incoming_left(settings: Settings) -> list[Path]:
    folder = uploads_of(settings)
    return sorted(folder.glob(".incoming-*")) if folder.exists() else []


@pytest.mark.usefixtures("worker")
async def test_an_uploaded_pack_registers_and_its_scripts_run(
    api: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    ref = unique("pk")
    archive = build_pack_archive(hello_pack(tmp_path / "v1", ref, "one"))

    uploaded = await api.post("/api/v1/packs/upload", content=archive, headers=GZIP)

    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["actions"]["created"] == [f"{ref}.hello"]
    pack = (await api.get(f"/api/v1/packs/{ref}")).json()
    home = Path(pack["path"])
    assert home.parent == (uploads_of(settings) / ref).resolve()
    run = await api.post("/api/v1/executions", json={"action": f"{ref}.hello"})
    execution = await wait_for_status(api, run.json()["id"])
    assert execution["result"]["stdout"] == "hello from one\n"

    changed = build_pack_archive(hello_pack(tmp_path / "v2", ref, "two"))
    again = await api.post("/api/v1/packs/upload", content=changed, headers=GZIP)

    assert again.status_code == 200, again.text
    # The action's definition is the same; the pack now points at the new files.
    assert again.json()["pack_change"] == "updated"
    newer = Path((await api.get(f"/api/v1/packs/{ref}")).json()["path"])
    assert newer != home
    assert (home / "actions" / "hello.sh").read_text() == HELLO.format(version="one")
    run = await api.post("/api/v1/executions", json={"action": f"{ref}.hello"})
    assert (await wait_for_status(api, run.json()["id"]))["result"]["stdout"] == (
        "hello from two\n"
    )
    assert incoming_left(settings) == []


@pytest.mark.parametrize(
    ("members", "says"),
    [
        ([member("pack.yaml", b"ref: x"), member("/etc/cron.d/evil", b"x")], "absolute path"),
        ([member("pack.yaml", b"ref: x"), member("../../evil", b"x")], "'..'"),
        (
            [
                member("pack.yaml", b"ref: x"),
                member("actions/l.sh", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
            ],
            "link",
        ),
        (
            [member("pack.yaml", b"ref: x"), member("fifo", type=tarfile.FIFOTYPE)],
            "special file",
        ),
        ([member("readme.txt", b"no pack here")], "pack.yaml"),
    ],
)
async def test_a_hostile_or_empty_archive_is_a_422_and_leaves_nothing(
    api: httpx.AsyncClient,
    settings: Settings,
    members: list[tuple[tarfile.TarInfo, bytes | None]],
    says: str,
) -> None:
    response = await api.post("/api/v1/packs/upload", content=tar_gz(iter(members)), headers=GZIP)

    assert response.status_code == 422, response.text
    assert says in response.json()["error"]["message"]
    assert incoming_left(settings) == []


async def test_what_is_not_an_archive_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/packs/upload", content=b"PK\x03\x04 zip?", headers=GZIP)

    assert response.status_code == 422
    assert "gzip-compressed tar" in response.json()["error"]["message"]


async def test_an_archive_past_the_limit_is_a_413_before_it_is_read(
    api: httpx.AsyncClient,
) -> None:
    body = CountingBody(MAX_ARCHIVE_BYTES + 1)

    response = await api.post(
        "/api/v1/packs/upload",
        content=body,
        headers=GZIP | {"content-length": str(body.total)},
    )

    assert response.status_code == 413
    assert body.sent <= body.chunk


async def test_a_stranger_cannot_upload(anonymous_api: httpx.AsyncClient, tmp_path: Path) -> None:
    archive = build_pack_archive(hello_pack(tmp_path, unique("pk"), "x"))

    response = await anonymous_api.post("/api/v1/packs/upload", content=archive, headers=GZIP)

    assert response.status_code == 401


async def test_an_upload_never_touches_a_folder_registered_by_path(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    ref = unique("pk")
    # The operator's own pack, in the packs folder where uploads also go.
    own = hello_pack(settings.pack_folders[0], ref, "by path")
    registered = await api.post("/api/v1/packs/register", json={"path": str(own)})
    assert registered.status_code == 200, registered.text

    for version in ("a", "b", "c", "d", "e"):
        archive = build_pack_archive(hello_pack(settings.data_dir / version, ref, version))
        uploaded = await api.post("/api/v1/packs/upload", content=archive, headers=GZIP)
        assert uploaded.status_code == 200, uploaded.text

    assert (own / "actions" / "hello.sh").read_text() == HELLO.format(version="by path")
    assert sorted(path.name for path in own.iterdir()) == ["actions", "pack.yaml"]
    assert len(list((uploads_of(settings) / ref).iterdir())) == KEPT_VERSIONS


async def test_a_failed_registration_keeps_the_registered_version_and_leaves_nothing(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    ref = unique("pk")
    good = build_pack_archive(hello_pack(settings.data_dir / "good", ref, "good"))
    assert (await api.post("/api/v1/packs/upload", content=good, headers=GZIP)).status_code == 200
    registered = Path((await api.get(f"/api/v1/packs/{ref}")).json()["path"])

    for attempt in range(KEPT_VERSIONS + 1):
        # Loads, but cannot register: its rule names a trigger that exists nowhere.
        broken = write_pack(
            settings.data_dir / f"broken{attempt}",
            ref,
            rules={"r": {"trigger": "nowhere.hook", "action": {"ref": "core.noop"}}},
        )
        refused = await api.post(
            "/api/v1/packs/upload", content=build_pack_archive(broken), headers=GZIP
        )
        assert refused.status_code == 422, refused.text

    assert (await api.get(f"/api/v1/packs/{ref}")).json()["path"] == str(registered)
    assert list((uploads_of(settings) / ref).iterdir()) == [registered]
    assert (registered / "actions" / "hello.sh").is_file()


async def test_where_uploaded_workflow_code_is_not_allowed_it_is_a_403_and_leaves_nothing(
    api: httpx.AsyncClient, settings: Settings, admin_token: str, tmp_path: Path
) -> None:
    ref, folder = write_workflow_pack(
        tmp_path,
        code={"workflows/flow.py": "class Flow:\n    async def run(self):\n        return 1\n"},
        actions={"flow": workflow_action("workflows/flow.py:Flow")},
    )
    plain = hello_pack(tmp_path / "plain", unique("pk"), "one")
    strict = settings.model_copy(update={"allow_uploaded_workflows": False})

    async with api_client(strict, token=admin_token) as guarded:
        refused = await guarded.post(
            "/api/v1/packs/upload", content=build_pack_archive(folder), headers=GZIP
        )
        accepted = await guarded.post(
            "/api/v1/packs/upload", content=build_pack_archive(plain), headers=GZIP
        )
        # What an operator placed in the pack folders is still theirs to register.
        by_path = await guarded.post("/api/v1/packs/register", json={"path": str(folder)})

    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert "ATTUNE_ALLOW_UPLOADED_WORKFLOWS" in error["message"]
    assert error["details"]["actions"] == ["flow"]
    assert not (uploads_of(settings) / ref).exists()
    assert incoming_left(settings) == []
    assert accepted.status_code == 200, accepted.text
    assert by_path.status_code == 200, by_path.text
    assert by_path.json()["actions"]["created"] == [f"{ref}.flow", f"{ref}.step"]
