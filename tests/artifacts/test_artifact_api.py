"""The artifact routes against the real PostgreSQL: JSON artifacts, file uploads kept inline
or in the store, downloads (whole and by range), limits, updates and who may see what."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from attune.auth.execution_tokens import mint_execution_token
from attune.config import Settings
from db.engine import create_session_factory
from db.models import ExecutionStatus
from tests.conftest import api_client
from tests.db.factories import make_action, make_execution, make_pack, unique
from tests.identities import make_identity, make_token

V1 = "/api/v1"
INLINE = 1024
LIMIT = 200_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small limits, so that both kinds of storage and both refusals are cheap to reach."""
    return settings.model_copy(
        update={
            "artifact_inline_bytes": INLINE,
            "artifact_max_bytes": LIMIT,
            "artifact_execution_max_bytes": 2 * LIMIT,
        }
    )


@pytest.fixture
async def execution_id(engine: AsyncEngine) -> int:
    return await execution_id_of_a_running(engine)


async def upload(
    api: httpx.AsyncClient, filename: str, content: bytes, **fields: Any
) -> httpx.Response:
    form = {"ref": fields.pop("ref", unique("file")), **{k: str(v) for k, v in fields.items()}}
    return await api.post(f"{V1}/artifacts", data=form, files={"file": (filename, content)})


async def test_json_artifacts_are_made_listed_and_a_progress_one_updated(
    api: httpx.AsyncClient, execution_id: int
) -> None:
    ref = unique("progress")
    made = await api.post(
        f"{V1}/artifacts",
        json={
            "ref": ref,
            "type": "progress",
            "data": {"percent": 10, "message": "starting"},
            "execution_id": execution_id,
        },
    )
    assert made.status_code == 201, made.text
    artifact = made.json()
    assert artifact["type"] == "progress"
    assert artifact["data"] == {"percent": 10.0, "message": "starting"}
    assert artifact["execution_id"] == execution_id
    assert artifact["scope"] == "action"
    assert artifact["content_url"] is None
    assert (artifact["retention_policy"], artifact["retention_limit"]) == ("versions", 10)

    patched = await api.patch(
        f"{V1}/artifacts/{artifact['id']}", json={"data": {"percent": 55, "message": "half"}}
    )
    assert patched.status_code == 200, patched.text
    assert (await api.get(f"{V1}/artifacts/{artifact['id']}")).json()["data"] == {
        "percent": 55.0,
        "message": "half",
    }
    link = await api.post(
        f"{V1}/artifacts",
        json={"ref": ref + "-link", "type": "url", "data": {"url": "https://t.example/T-1"}},
    )
    assert link.status_code == 201, link.text
    assert link.json()["data"] == {"url": "https://t.example/T-1", "title": ""}

    listed = await api.get(f"{V1}/executions/{execution_id}/artifacts")
    assert [item["id"] for item in listed.json()["items"]] == [artifact["id"]]
    by_ref = await api.get(f"{V1}/artifacts", params={"ref": ref, "type": "progress"})
    assert [item["id"] for item in by_ref.json()["items"]] == [artifact["id"]]
    assert (await api.get(f"{V1}/artifacts", params={"ref": ref, "type": "url"})).json()[
        "items"
    ] == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"type": "progress", "data": {"percent": 101}}, "percent"),
        ({"type": "progress", "data": {"percent": 5, "eta": 3}}, "eta"),
        ({"type": "url", "data": {"url": "not a url"}}, "url"),
        ({"type": "file_text", "data": None}, "type"),
        ({"type": "other", "retention_limit": 0}, "retention_limit"),
        ({"type": "other", "retention_policy": "forever"}, "retention_policy"),
        ({"type": "other", "ref": "two\nlines"}, "printable"),
        ({"type": "other", "ref": "\U0001f680" * 501}, "ref"),
        ({"type": "other", "owner": "bell\u0007"}, "owner"),
    ],
)
async def test_a_bad_json_artifact_is_a_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    refused = await api.post(f"{V1}/artifacts", json={"ref": unique("bad")} | body)
    assert refused.status_code == 422, refused.text
    assert named in refused.text


async def test_an_unknown_execution_is_a_404_and_a_patch_of_file_data_a_409(
    api: httpx.AsyncClient,
) -> None:
    missing = await api.post(
        f"{V1}/artifacts", json={"ref": "x", "type": "other", "execution_id": 2**62}
    )
    assert missing.status_code == 404, missing.text
    made = await upload(api, "notes.txt", b"hello")
    assert made.status_code == 201, made.text
    changed = await api.patch(f"{V1}/artifacts/{made.json()['id']}", json={"data": {"a": 1}})
    assert changed.status_code == 409
    assert "never changes" in changed.json()["error"]["message"]
    kept = await api.patch(f"{V1}/artifacts/{made.json()['id']}", json={"retention_limit": 3})
    assert kept.json()["retention_limit"] == 3


async def test_files_small_and_large_download_byte_identical_and_by_range(
    api: httpx.AsyncClient, settings: Settings, execution_id: int
) -> None:
    small = b"host,ok\na,true\n"
    large = os.urandom(150_000)
    table = await upload(api, "hosts.csv", small, execution_id=execution_id)
    image = await upload(api, "graph.png", large, execution_id=execution_id)
    assert table.status_code == image.status_code == 201, (table.text, image.text)
    assert table.json()["type"] == "file_datatable"
    assert image.json()["type"] == "file_image"
    assert image.json()["sha256"] == hashlib.sha256(large).hexdigest()
    assert image.json()["size_bytes"] == len(large)
    # The small one is in PostgreSQL, the large one a file of the store.
    assert len(list(settings.artifact_store.iterdir())) == 1

    got_small = await api.get(table.json()["content_url"])
    assert got_small.content == small
    assert got_small.headers["content-type"].startswith("text/csv")
    assert got_small.headers["content-disposition"] == 'attachment; filename="hosts.csv"'
    assert got_small.headers["x-content-type-options"] == "nosniff"
    got_large = await api.get(image.json()["content_url"])
    assert got_large.content == large
    assert got_large.headers["content-type"] == "image/png"
    ranged = await api.get(image.json()["content_url"], headers={"Range": "bytes=1000-1999"})
    assert ranged.status_code == 206
    assert ranged.content == large[1000:2000]

    none = await api.get(f"{V1}/artifacts/2305843009213693952/content")
    assert none.status_code == 404


async def test_an_oversized_file_is_refused_naming_the_limit_and_leaves_nothing(
    api: httpx.AsyncClient, settings: Settings, execution_id: int
) -> None:
    refused = await upload(api, "big.bin", b"x" * (LIMIT + 1), execution_id=execution_id)
    assert refused.status_code == 413, refused.text
    assert "limit of 200,000 bytes" in refused.json()["error"]["message"]
    assert not settings.artifact_store.exists() or not list(settings.artifact_store.iterdir())
    # Two that fit alone take the execution past its own limit together.
    first = await upload(api, "a.bin", b"a" * LIMIT, execution_id=execution_id)
    second = await upload(api, "b.bin", b"b" * LIMIT, execution_id=execution_id)
    third = await upload(api, "c.bin", b"c" * 10, execution_id=execution_id)
    assert (first.status_code, second.status_code) == (201, 201)
    assert third.status_code == 413
    assert f"execution {execution_id}'s artifacts would take" in third.json()["error"]["message"]
    assert len(list(settings.artifact_store.iterdir())) == 2


async def test_a_form_without_its_file_is_a_422(api: httpx.AsyncClient) -> None:
    refused = await api.post(f"{V1}/artifacts", data={"ref": "x"}, files={"other": ("a", b"1")})
    assert refused.status_code == 422
    assert "file" in refused.json()["error"]["message"]


@pytest.fixture
async def viewer_of(api: httpx.AsyncClient, settings: Settings) -> AsyncIterator[Any]:
    """A client for a new identity holding one custom set of these grants."""
    opened: list[Any] = []

    async def open_client(grants: list[dict[str, Any]]) -> httpx.AsyncClient:
        name = unique("set")
        made = await api.post(f"{V1}/permission-sets", json={"name": name, "grants": grants})
        assert made.status_code == 201, made.text
        identity = await make_identity(api, permission_sets=[name])
        token = await make_token(api, identity["login"])
        client = api_client(settings, token=str(token["token"]))
        opened.append(client)
        return await client.__aenter__()

    yield open_client
    for client in opened:
        await client.__aexit__(None, None, None)


async def test_artifacts_follow_their_packs_permissions(
    api: httpx.AsyncClient, engine: AsyncEngine, viewer_of: Any
) -> None:
    async with create_session_factory(engine).begin() as session:
        ours, theirs = await make_pack(session), await make_pack(session)
        our_run = await make_execution(session, await make_action(session, ours))
        their_run = await make_execution(session, await make_action(session, theirs))
    mine = await upload(api, "a.txt", b"ours", execution_id=our_run.id)
    other = await upload(api, "b.txt", b"theirs", execution_id=their_run.id)
    assert mine.json()["pack"] == ours.ref

    viewer = await viewer_of([{"resource": "pack", "verbs": ["view"], "refs": [ours.ref]}])
    seen = (await viewer.get(f"{V1}/artifacts", params={"limit": 1000})).json()["items"]
    assert {item["id"] for item in seen} == {mine.json()["id"]}
    assert (await viewer.get(f"{V1}/artifacts/{other.json()['id']}")).status_code == 404
    hidden = await viewer.get(f"{V1}/artifacts/{other.json()['id']}/content")
    assert hidden.status_code == 404
    assert (await viewer.get(f"{V1}/artifacts/{mine.json()['id']}/content")).content == b"ours"
    refused = await upload(viewer, "c.txt", b"no", execution_id=our_run.id)
    assert refused.status_code == 403
    assert "create on artifact" in refused.json()["error"]["message"]
    cannot_change = await viewer.patch(
        f"{V1}/artifacts/{mine.json()['id']}", json={"retention_limit": 2}
    )
    assert cannot_change.status_code == 403


async def test_delete_removes_the_row_and_its_file(
    api: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    made = await upload(api, "big.dat", os.urandom(5000))
    assert len(list(settings.artifact_store.iterdir())) == 1
    assert (await api.delete(f"{V1}/artifacts/{made.json()['id']}")).status_code == 204
    assert (await api.get(f"{V1}/artifacts/{made.json()['id']}")).status_code == 404
    assert list(settings.artifact_store.iterdir()) == []


async def test_an_execution_token_reaches_its_own_executions_artifacts_only(
    api: httpx.AsyncClient, settings: Settings, engine: AsyncEngine, execution_id: int
) -> None:
    other_id = await execution_id_of_a_running(engine)
    theirs = await upload(api, "theirs.txt", b"not yours", execution_id=other_id)
    key = settings.encryption_key_bytes
    assert key is not None
    async with api_client(settings, token=mint_execution_token(key, execution_id)) as as_run:
        made = await as_run.post(
            f"{V1}/artifacts", json={"ref": "r", "type": "progress", "data": {"percent": 1}}
        )
        assert made.status_code == 201, made.text
        assert made.json()["execution_id"] == execution_id
        assert made.json()["scope"] == "action"
        own = made.json()["id"]
        patched = await as_run.patch(f"{V1}/artifacts/{own}", json={"data": {"percent": 2}})
        assert patched.status_code == 200, patched.text
        file = await upload(as_run, "mine.txt", b"mine")
        assert (await as_run.get(file.json()["content_url"])).content == b"mine"

        elsewhere = await as_run.post(
            f"{V1}/artifacts", json={"ref": "r", "type": "other", "execution_id": other_id}
        )
        assert elsewhere.status_code == 403
        assert "its own execution" in elsewhere.json()["error"]["message"]
        their_id = theirs.json()["id"]
        assert (await as_run.get(f"{V1}/artifacts/{their_id}")).status_code == 404
        assert (await as_run.get(f"{V1}/artifacts/{their_id}/content")).status_code == 404
        changed = await as_run.patch(f"{V1}/artifacts/{their_id}", json={"retention_limit": 1})
        assert changed.status_code == 404
        assert (await as_run.get(f"{V1}/artifacts")).status_code == 403
        assert (await as_run.delete(f"{V1}/artifacts/{own}")).status_code == 403


async def execution_id_of_a_running(engine: AsyncEngine) -> int:
    async with create_session_factory(engine).begin() as session:
        action = await make_action(session, await make_pack(session))
        made = await make_execution(session, action, status=ExecutionStatus.RUNNING)
        return made.id


async def test_a_nul_character_in_a_form_field_is_a_422_naming_it(api: httpx.AsyncClient) -> None:
    in_ref = await upload(api, "a.txt", b"x", ref="bad\x00ref")
    assert in_ref.status_code == 422, in_ref.text
    assert in_ref.json()["error"]["details"] == {"field": "ref"}
    in_name = await upload(api, "a.txt", b"x", name="bad\x00.txt")
    assert in_name.status_code == 422, in_name.text
    assert "NUL" in in_name.json()["error"]["message"]


async def test_a_repeated_content_type_cannot_pass_json_off_as_a_form(
    api: httpx.AsyncClient,
) -> None:
    # The guard reads the last Content-Type, Starlette the first: the route follows the
    # guard's judgement, so this JSON (with a NUL jsonb cannot hold) is never read unchecked.
    body = b'{"ref": "r", "type": "other", "data": {"a": "\\u0000"}}'
    headers = [
        ("content-type", "application/json"),
        ("content-type", "multipart/form-data; boundary=x"),
    ]
    refused = await api.post(f"{V1}/artifacts", content=body, headers=headers)
    assert refused.status_code == 422, refused.text
