"""`attune key set|get|list|delete|load|rotate`: the key-value store.

Every command but `rotate` goes through the API; `rotate` re-encrypts the database's
secrets itself (see `attune.keys.rotation` for the whole procedure).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer
from rich.text import Text

from attune.cli_support import Output, OutputOption, cli_settings, render, run_checked
from attune.config import Settings
from attune.errors import AttuneError
from attune.keys.addresses import Scope

key_app = typer.Typer(help="Set, read, list, load and delete keys.", no_args_is_help=True)

ScopeOption = Annotated[Scope, typer.Option(help="system, pack (with --pack) or user.")]
PackOption = Annotated[str | None, typer.Option(help="The owning pack's ref (scope pack).")]
UserOption = Annotated[
    str | None, typer.Option(help="The owning login (scope user); yours when left out.")
]
NameArgument = Annotated[str, typer.Argument(help="The key's name.")]
PAGE = 1000


def key_path(
    scope: Scope, name: str, *, pack: str | None, user: str | None, decrypt: bool = False
) -> str:
    """The API path of one key, with its owner (and `decrypt`) in the query."""
    given = {"pack": pack, "user": user, "decrypt": "true" if decrypt else None}
    query = urlencode({field: value for field, value in given.items() if value is not None})
    return f"/keys/{scope.value}/{quote(name, safe='')}" + (f"?{query}" if query else "")


def shown(value: Any) -> str:
    """A value as the CLI prints it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@key_app.command("set")
def key_set(
    name: NameArgument,
    value: Annotated[str, typer.Argument(help="The value: a string, or JSON with --json.")],
    scope: ScopeOption = Scope.SYSTEM,
    pack: PackOption = None,
    user: UserOption = None,
    encrypt: Annotated[bool, typer.Option(help="Store the value encrypted.")] = False,
    ttl: Annotated[int | None, typer.Option(min=1, help="Seconds until it expires.")] = None,
    description: Annotated[str, typer.Option(help="What the key is for.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="VALUE is JSON, not a string.")] = False,
) -> None:
    """Create or replace a key (every field: a key set again without --ttl stays)."""
    from attune.api_client import call_api

    settings = cli_settings()
    stored: Any = value
    if as_json:
        try:
            stored = json.loads(value)
        except json.JSONDecodeError as error:
            typer.echo(f"attune: VALUE is not JSON (--json): {error}", err=True)
            raise typer.Exit(code=2) from None
    body = {"value": stored, "encrypted": encrypt, "ttl_seconds": ttl, "description": description}

    def step() -> None:
        key = call_api(settings, "PUT", key_path(scope, name, pack=pack, user=user), body)
        typer.echo(_set_line(key))

    run_checked(step)


@key_app.command("get")
def key_get(
    name: NameArgument,
    scope: ScopeOption = Scope.SYSTEM,
    pack: PackOption = None,
    user: UserOption = None,
    decrypt: Annotated[bool, typer.Option(help="Show an encrypted value (audited).")] = False,
    output: Annotated[str, typer.Option("-o", "--output", help="value or json.")] = "value",
) -> None:
    """Print a key's value (`-o json`: the whole key)."""
    from attune.api_client import call_api

    settings = cli_settings()
    path = key_path(scope, name, pack=pack, user=user, decrypt=decrypt)

    def step() -> None:
        key = call_api(settings, "GET", path)
        typer.echo(json.dumps(key, indent=2) if output == "json" else shown(key["value"]))

    run_checked(step)


def _key_lines(keys: list[dict[str, Any]]) -> Text:
    lines = [
        f"{_address(key)}  {shown(key['value'])}"
        + (f"  expires {key['expires_at']}" if key["expires_at"] else "")
        for key in keys
    ]
    return Text("\n".join(lines) or "(no keys)")


@key_app.command("list")
def key_list(
    scope: Annotated[Scope | None, typer.Option(help="Only this scope.")] = None,
    pack: PackOption = None,
    user: UserOption = None,
    prefix: Annotated[str | None, typer.Option(help="Only names starting so.")] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List keys: scope, owner, name, value (encrypted ones masked) and expiry."""
    from attune.api_client import call_api

    settings = cli_settings()
    filters = {"scope": scope.value if scope else None, "pack": pack, "user": user}
    filters |= {"prefix": prefix}

    def step() -> None:
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            query = urlencode({**{k: v for k, v in filters.items() if v}, "limit": PAGE})
            page = call_api(settings, "GET", f"/keys?{query}&offset={offset}")
            items += page["items"]
            offset = page["next_offset"]
        render(items, output, _key_lines)

    run_checked(step)


@key_app.command("delete")
def key_delete(
    name: NameArgument,
    scope: ScopeOption = Scope.SYSTEM,
    pack: PackOption = None,
    user: UserOption = None,
) -> None:
    """Delete a key."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        call_api(settings, "DELETE", key_path(scope, name, pack=pack, user=user))
        owner = f"[{pack or user}]" if pack or user else ""
        typer.echo(f"key {scope.value}{owner}/{name} deleted")

    run_checked(step)


@key_app.command("load")
def key_load(
    file: Annotated[Path, typer.Argument(help="JSON or YAML, as `st2 key load` takes.")],
) -> None:
    """Create or replace the keys of a file in StackStorm's `st2 key load` format: a list
    of {name, value, scope, secret, ttl, description} (scope system, user, st2kv.system,
    st2kv.user or pack; a pack key names its pack)."""
    from attune.api_client import call_api
    from attune.keys.load_file import parse_key_file

    settings = cli_settings()

    def step() -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise AttuneError(f"{file}: cannot be read: {error}") from None
        entries = parse_key_file(text, source=str(file))
        for done, entry in enumerate(entries):
            path = key_path(entry.scope, entry.name, pack=entry.pack, user=entry.user)
            body = {
                "value": entry.value,
                "encrypted": entry.encrypt,
                "ttl_seconds": entry.ttl_seconds,
                "description": entry.description,
            }
            try:
                key = call_api(settings, "PUT", path, body)
            except AttuneError as error:
                raise AttuneError(
                    f"{entry.name}: {error} ({done} of {len(entries)} loaded before it)"
                ) from None
            typer.echo(_set_line(key))
        typer.echo(f"loaded {len(entries)} key(s) from {file}")

    run_checked(step)


@key_app.command("rotate")
def key_rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows a batch.")] = 200,
) -> None:
    """Re-encrypt every secret in the database under ATTUNE_ENCRYPTION_KEY, opening each
    with it or a key of ATTUNE_PREVIOUS_ENCRYPTION_KEYS. Stop the API and workers first;
    run it again if it is interrupted. Needs ATTUNE_DATABASE_URL."""
    settings = cli_settings()
    code = 1

    def step() -> None:
        nonlocal code
        code = asyncio.run(_rotate(settings, batch_size))

    run_checked(step)
    raise typer.Exit(code=code)


async def _rotate(settings: Settings, batch_size: int) -> int:
    from attune.config import required_database_url
    from attune.keys.rotation import TableTally, rotate_secrets, rotation_ring
    from db.engine import create_engine, create_session_factory

    ring = rotation_ring(settings)
    engine = create_engine(required_database_url(settings), pool_size=1)

    def progress(tally: TableTally, _: int) -> None:
        typer.echo(
            f"{tally.table}: {tally.done} done ({tally.reencrypted} re-encrypted, "
            f"{tally.current} already under the current key, {len(tally.unreadable)} unreadable)"
        )

    try:
        report = await rotate_secrets(
            create_session_factory(engine), ring, batch_size=batch_size, on_batch=progress
        )
    finally:
        await engine.dispose()
    for table, row_id in report.unreadable:
        typer.echo(f"{table} {row_id}: no key opens it; left unchanged", err=True)
    typer.echo(
        f"rotated: {report.reencrypted} re-encrypted, {report.current} already under the "
        f"current key, {len(report.unreadable)} unreadable"
    )
    return 1 if report.unreadable else 0


def _set_line(key: dict[str, Any]) -> str:
    return f"key {_address(key)} set" + (" (encrypted)" if key["encrypted"] else "")


def _address(key: dict[str, Any]) -> str:
    owner = f"[{key['owner']}]" if key["owner"] else ""
    return f"{key['scope']}{owner}/{key['name']}"
