"""Pack archives: a real pack survives the round trip; each hostile archive is refused whole."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from attune import errors
from attune.packs import archive
from attune.packs.archive import (
    MAX_ARCHIVE_BYTES,
    MAX_ARCHIVE_FILES,
    MAX_EXTRACTED_BYTES,
    extract_pack_archive,
)
from attune.packs.archive_build import build_pack_archive
from attune.packs.loader import load_pack
from tests.attune.packs.packdir import write_file, write_pack
from tests.pack_folders import write_pack as write_full_pack

PACK_YAML = b"ref: sample\nlabel: Sample\nversion: 1.0.0\n"

Member = tuple[tarfile.TarInfo, bytes | None]


def regular(name: str, data: bytes = b"") -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def folder(name: str) -> Member:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def link(name: str, target: str, *, hard: bool = False) -> Member:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info, None


def special(name: str, kind: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, None


def tar_gz(members: Sequence[Member]) -> io.BytesIO:
    """A gzip-compressed tar made by hand, holding exactly `members`."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return io.BytesIO(gzip.compress(raw.getvalue()))


def refusal(archive: io.BytesIO, destination: Path, **limits: int) -> str:
    with pytest.raises(errors.ValidationError) as caught:
        extract_pack_archive(archive, destination, **limits)
    assert caught.value.details["field"] == "archive"
    return caught.value.message


def test_the_defaults_callers_import() -> None:
    assert MAX_ARCHIVE_BYTES == 64 * 1024 * 1024
    assert MAX_EXTRACTED_BYTES == 256 * 1024 * 1024
    assert MAX_ARCHIVE_FILES == 10_000


def test_a_real_pack_survives_build_and_extract_and_loads(tmp_path: Path) -> None:
    source = write_full_pack(
        tmp_path,
        "roundtrip",
        actions={"hello": {"runner_type": "local-shell-script", "entry_point": "hello.sh"}},
        triggers={"hook": {"type": "webhook"}},
        rules={
            "on_hook": {"trigger": "roundtrip.hook", "action": {"ref": "roundtrip.hello"}},
        },
        scripts={"hello.sh": "#!/bin/sh\necho hello\n", "lib/util.sh": "true\n"},
    )
    (source / "actions" / "greet.yaml").symlink_to("hello.yaml")  # a link inside: kept
    os.link(source / "actions" / "hello.sh", source / "actions" / "hello2.sh")  # a hard link
    write_file(source, ".git/config", "[core]\n")
    write_file(source, "actions/__pycache__/x.cpython-311.pyc", "compiled")
    write_file(source, "actions/stale.pyc", "compiled")

    data = build_pack_archive(source, max_bytes=MAX_ARCHIVE_BYTES)
    root = extract_pack_archive(
        io.BytesIO(data),
        tmp_path / "unpacked",
        max_files=MAX_ARCHIVE_FILES,
        max_bytes=MAX_EXTRACTED_BYTES,
    )

    assert root == tmp_path / "unpacked"
    assert not (root / ".git").exists()
    assert not (root / "actions" / "__pycache__").exists()
    assert not (root / "actions" / "stale.pyc").exists()
    assert (root / "actions" / "greet.yaml").is_symlink()
    assert os.access(root / "actions" / "hello.sh", os.X_OK)
    assert (root / "actions" / "lib" / "util.sh").read_text() == "true\n"
    assert (root / "actions" / "hello2.sh").read_text() == "#!/bin/sh\necho hello\n"
    pack = load_pack(root)
    assert pack.ref == "roundtrip"
    assert [action.name for action in pack.actions] == ["greet", "hello"]
    assert [rule.name for rule in pack.rules] == ["on_hook"]


def test_a_pack_in_a_single_top_level_folder_is_found(tmp_path: Path) -> None:
    archive = tar_gz([folder("sample"), regular("sample/pack.yaml", PACK_YAML)])
    root = extract_pack_archive(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "sample"
    assert load_pack(root).ref == "sample"


def test_an_archive_made_with_tar_dot_is_found_at_the_root(tmp_path: Path) -> None:
    archive = tar_gz([folder("."), regular("./pack.yaml", PACK_YAML)])
    assert extract_pack_archive(archive, tmp_path / "out") == tmp_path / "out"


def test_an_archive_beyond_the_limit_is_not_built(tmp_path: Path) -> None:
    source = write_pack(tmp_path / "p")
    (source / "noise.bin").write_bytes(os.urandom(200_000))  # random: it will not compress
    with pytest.raises(errors.ValidationError, match="compresses to more than 100000 bytes"):
        build_pack_archive(source, max_bytes=100_000)


def test_a_folder_without_pack_yaml_is_not_built(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.ValidationError, match=r"has no pack\.yaml"):
        build_pack_archive(tmp_path / "empty", max_bytes=MAX_ARCHIVE_BYTES)


def test_a_fifo_in_the_folder_is_not_built(tmp_path: Path) -> None:
    source = write_pack(tmp_path / "p")
    os.mkfifo(source / "pipe")
    with pytest.raises(errors.ValidationError, match="'pipe' is not a file, folder or link"):
        build_pack_archive(source)


def test_a_link_leading_outside_is_built_as_a_link_and_refused_by_the_server(
    tmp_path: Path,
) -> None:
    source = write_pack(tmp_path / "p")
    (source / "secret.yaml").symlink_to("/etc/passwd")
    data = build_pack_archive(source)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getmember("secret.yaml").issym()
    message = refusal(io.BytesIO(data), tmp_path / "out")
    assert message == "pack archive refused: 'secret.yaml' is a link to an absolute path"


# (what the archive holds, a fragment of the refusal)
HOSTILE: list[tuple[str, list[Member], str]] = [
    ("absolute", [regular("pack.yaml", PACK_YAML), regular("/tmp/evil")], "has an absolute path"),
    ("dotdot", [regular("pack.yaml", PACK_YAML), regular("../x")], "'../x' has '..' in its path"),
    (
        "dotdot-inside",
        [regular("pack.yaml", PACK_YAML), regular("a/../../x")],
        "has '..' in its path",
    ),
    (
        "symlink-absolute",
        [regular("pack.yaml", PACK_YAML), link("passwd", "/etc/passwd")],
        "'passwd' is a link to an absolute path",
    ),
    (
        "symlink-up",
        [regular("pack.yaml", PACK_YAML), link("actions/up", "../../etc/passwd")],
        "'actions/up' is a link leading outside the pack folder",
    ),
    (
        "hardlink-absolute",
        [regular("pack.yaml", PACK_YAML), link("shadow", "/etc/shadow", hard=True)],
        "'shadow' is a link to an absolute path",
    ),
    (
        "hardlink-up",
        [regular("pack.yaml", PACK_YAML), link("shadow", "../../etc/shadow", hard=True)],
        "'shadow' is a link leading outside the pack folder",
    ),
    (
        "hardlink-to-nothing",
        [regular("pack.yaml", PACK_YAML), link("copy", "missing", hard=True)],
        "'copy' is a hard link to no file before it",
    ),
    (
        "through-a-link",
        [regular("pack.yaml", PACK_YAML), link("out", "actions"), regular("out/x.yaml")],
        "'out/x.yaml' is inside the link 'out'",
    ),
    (
        "link-through-a-link",
        # `d` leads to the root, so `a/b/e` lexically inside is really two levels above it.
        [
            regular("pack.yaml", PACK_YAML),
            link("a/b/d", "../.."),
            link("a/b/e", "d/../../x"),
        ],
        "'a/b/e' is a link through another link",
    ),
    (
        "twice",
        [regular("pack.yaml", PACK_YAML), link("x", "pack.yaml"), regular("x")],
        "'x' appears twice",
    ),
    (
        "inside-a-file",
        [regular("pack.yaml", PACK_YAML), regular("pack.yaml/x")],
        "'pack.yaml/x' is inside 'pack.yaml', not a folder",
    ),
    (
        "fifo",
        [regular("pack.yaml", PACK_YAML), special("pipe", tarfile.FIFOTYPE)],
        "'pipe' is a device, FIFO or other special file",
    ),
    (
        "device",
        [regular("pack.yaml", PACK_YAML), special("disk", tarfile.BLKTYPE)],
        "'disk' is a device, FIFO or other special file",
    ),
    (
        "no-pack-yaml",
        [regular("actions/a.yaml", b"runner_type: noop\n")],
        "no pack.yaml at its root nor in its single top-level folder",
    ),
    (
        "pack-yaml-too-deep",
        [folder("a"), folder("b"), regular("a/pack.yaml", PACK_YAML)],
        "no pack.yaml",
    ),
]


@pytest.mark.parametrize(
    ("members", "fragment"), [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE]
)
def test_a_hostile_archive_is_refused_before_anything_is_written(
    tmp_path: Path, members: list[Member], fragment: str
) -> None:
    destination = tmp_path / "out"
    message = refusal(tar_gz(members), destination)
    assert message.startswith("pack archive refused: ")
    assert fragment in message
    assert list(destination.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "target", "fragment"),
    [
        ("a\x1b[31m", "", "has control or undecodable characters in its name"),
        ("a\nb", "", "has control or undecodable characters in its name"),
        ("bad-\udcff", "", "has control or undecodable characters in its name"),
        ("x" * 300, "", "has a name too long to write"),
        ("/".join(["x" * 200] * 6), "", "has a name too long to write"),
        ("l", "x" * 2000, "has a name too long to write"),
    ],
    ids=["escape", "newline", "undecodable", "long-part", "long-path", "long-target"],
)
def test_a_name_that_cannot_be_written_is_refused(
    tmp_path: Path, name: str, target: str, fragment: str
) -> None:
    member = link(name, target) if target else regular(name)
    message = refusal(tar_gz([regular("pack.yaml", PACK_YAML), member]), tmp_path / "out")
    assert message.endswith(fragment)
    assert len(message) < 200


def test_a_member_name_is_quoted_as_an_excerpt(tmp_path: Path) -> None:
    name = "../" + "x" * 5000 + "\n"
    message = refusal(tar_gz([regular("pack.yaml", PACK_YAML), regular(name)]), tmp_path / "o")
    assert len(message) < 200
    assert "\n" not in message


def test_more_files_than_the_limit_are_refused(tmp_path: Path) -> None:
    members = [regular("pack.yaml", PACK_YAML), *(regular(f"f{index}") for index in range(5))]
    message = refusal(tar_gz(members), tmp_path / "out", max_files=5)
    assert message == "pack archive refused: more than 5 files"
    assert list((tmp_path / "out").iterdir()) == []


def test_files_holding_more_bytes_than_the_limit_are_refused(tmp_path: Path) -> None:
    members = [regular("pack.yaml", PACK_YAML), regular("big", b"\0" * 5000)]
    message = refusal(tar_gz(members), tmp_path / "out", max_bytes=4096)
    assert message == "pack archive refused: its files hold more than 4096 bytes"
    assert list((tmp_path / "out").iterdir()) == []


def test_the_byte_limit_is_enforced_while_writing_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "_check_sizes", lambda members, max_bytes: None)
    members = [
        regular("pack.yaml", PACK_YAML),
        regular("a", b"a" * 3000),
        regular("b", b"b" * 3000),
    ]
    message = refusal(tar_gz(members), tmp_path / "out", max_bytes=4096)
    assert message == "pack archive refused: its files hold more than 4096 bytes"
    assert not (tmp_path / "out" / "b").exists()


def test_a_gzip_bomb_is_refused_while_it_is_decompressed(tmp_path: Path) -> None:
    bomb = io.BytesIO(gzip.compress(b"\0" * 64 * 1024 * 1024, compresslevel=9))
    started = time.perf_counter()
    message = refusal(bomb, tmp_path / "out", max_files=10, max_bytes=1024)
    assert time.perf_counter() - started < 5
    assert "expands to more than" in message


@pytest.mark.parametrize(
    "data",
    [b"", b"not gzip at all", gzip.compress(b"gzip, but no tar inside"), b"\x1f\x8b\x08broken"],
    ids=["empty", "text", "gzip-of-text", "truncated-gzip"],
)
def test_what_is_not_a_gzip_tar_is_refused(tmp_path: Path, data: bytes) -> None:
    message = refusal(io.BytesIO(data), tmp_path / "out")
    assert message == "pack archive refused: not a readable gzip-compressed tar file"


def test_an_archive_of_the_sample_pack_holds_its_files_at_the_root(tmp_path: Path) -> None:
    source = write_pack(tmp_path / "p", {"actions/a.yaml": {"runner_type": "noop"}})
    with tarfile.open(fileobj=io.BytesIO(build_pack_archive(source)), mode="r:gz") as tar:
        names = tar.getnames()
        owners = {(member.uid, member.gid, member.uname) for member in tar.getmembers()}
    assert names == ["actions", "pack.yaml", "actions/a.yaml"]
    assert owners == {(0, 0, "")}


def test_a_destination_that_is_not_empty_is_the_callers_mistake(tmp_path: Path) -> None:
    write_file(tmp_path / "out", "left-over", "x")
    with pytest.raises(ValueError, match="not empty"):
        extract_pack_archive(tar_gz([regular("pack.yaml", PACK_YAML)]), tmp_path / "out")
