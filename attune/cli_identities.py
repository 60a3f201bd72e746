"""`attune login|logout|whoami`, `attune identity ...` and `attune token ...`.

The token the CLI sends is, first found: ATTUNE_API_TOKEN; the session token `attune
login` stored (`attune.login_file`, mode 0600); the data directory's admin-token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.text import Text

from attune.cli_support import Output, OutputOption, cli_settings, render, run_checked

identity_app = typer.Typer(
    help="Create, list, disable and enable identities.", no_args_is_help=True
)
token_app = typer.Typer(help="Make, list and revoke identities' API tokens.", no_args_is_help=True)
LoginArgument = Annotated[str, typer.Argument(help="The identity's login.")]


def login(
    name: Annotated[
        str | None, typer.Option("--login", help="Your login (asked if left out).")
    ] = None,
) -> None:
    """Log in with a password; later commands use the session token stored for you."""
    from attune.api_client import call_api
    from attune.login_file import store_login_token

    settings = cli_settings()
    who = name or typer.prompt("Login")
    password = typer.prompt("Password", hide_input=True)

    def step() -> None:
        answer = call_api(
            settings, "POST", "/auth/login", {"login": who, "password": password}, token=""
        )
        path = store_login_token(answer["token"])
        typer.echo(f"logged in as {who} until {answer['expires_at']} (token in {path})")

    run_checked(step)


def logout() -> None:
    """Revoke the stored session token and delete its file."""
    from attune.api_client import call_api
    from attune.login_file import forget_login_token, read_login_token

    settings = cli_settings()

    def step() -> None:
        token = read_login_token()
        if token is None:
            typer.echo("not logged in")
            return
        call_api(settings, "POST", "/auth/logout", token=token)
        forget_login_token()
        typer.echo("logged out")

    run_checked(step)


def whoami(output: OutputOption = Output.TABLE) -> None:
    """Who the CLI's token belongs to, and its permission sets."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        render(call_api(settings, "GET", "/whoami"), output, _who)

    run_checked(step)


@identity_app.command("create")
def identity_create(
    name: LoginArgument,
    display_name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
    password_prompt: Annotated[bool, typer.Option(help="Ask for a password.")] = False,
    permission_set: Annotated[
        list[str] | None, typer.Option(help="A permission set to give (repeat for more).")
    ] = None,
) -> None:
    """Create an identity."""
    from attune.api_client import call_api

    settings = cli_settings()
    body: dict[str, Any] = {"login": name, "display_name": display_name}
    body["permission_sets"] = permission_set or []
    if password_prompt:
        body["password"] = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    def step() -> None:
        made = call_api(settings, "POST", "/identities", body)
        typer.echo(f"identity {made['login']} created")

    run_checked(step)


@identity_app.command("list")
def identity_list(output: OutputOption = Output.TABLE) -> None:
    """List identities: login, enabled, permission sets."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            page = call_api(settings, "GET", f"/identities?limit=1000&offset={offset}")
            items += page["items"]
            offset = page["next_offset"]
        render(items, output, _identity_lines)

    run_checked(step)


def _set_enabled(name: str, enabled: bool) -> None:
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        call_api(settings, "PATCH", f"/identities/{quote(name, safe='')}", {"enabled": enabled})
        typer.echo(f"identity {name} {'enabled' if enabled else 'disabled'}")

    run_checked(step)


@identity_app.command("disable")
def identity_disable(name: LoginArgument) -> None:
    """Disable an identity: its tokens stop working at once."""
    _set_enabled(name, False)


@identity_app.command("enable")
def identity_enable(name: LoginArgument) -> None:
    """Enable an identity again."""
    _set_enabled(name, True)


@identity_app.command("permissions")
def identity_permissions(
    name: LoginArgument,
    sets: Annotated[
        list[str], typer.Argument(help="Every permission set it is to hold (none: no set).")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Give an identity exactly these permission sets (the sets it held and is not given
    are taken away)."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        path = f"/identities/{quote(name, safe='')}"
        changed = call_api(settings, "PATCH", path, {"permission_sets": list(sets)})
        typer.echo(f"{name}: {', '.join(changed['permission_sets']) or '(no permission set)'}")

    run_checked(step)


@token_app.command("create")
def token_create(
    name: LoginArgument,
    label: Annotated[str, typer.Option(help="What the token is for.")] = "api",
    ttl: Annotated[int | None, typer.Option(min=60, help="Seconds until it expires.")] = None,
) -> None:
    """Make an API token; it is printed this once only."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        path = f"/identities/{quote(name, safe='')}/tokens"
        made = call_api(settings, "POST", path, {"label": label, "ttl_seconds": ttl})
        typer.echo(made["token"])
        typer.echo(f"token {made['id']} of {name}; shown this once only", err=True)

    run_checked(step)


@token_app.command("list")
def token_list(name: LoginArgument, output: OutputOption = Output.TABLE) -> None:
    """List an identity's tokens (never the tokens themselves)."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        page = call_api(settings, "GET", f"/identities/{quote(name, safe='')}/tokens?limit=1000")
        render(page["items"], output, _token_lines)

    run_checked(step)


@token_app.command("revoke")
def token_revoke(
    name: LoginArgument, token_id: Annotated[int, typer.Argument(help="Its id.")]
) -> None:
    """Revoke a token: refused at once by every API process."""
    from attune.api_client import call_api

    settings = cli_settings()

    def step() -> None:
        call_api(settings, "DELETE", f"/identities/{quote(name, safe='')}/tokens/{token_id}")
        typer.echo(f"token {token_id} of {name} revoked")

    run_checked(step)


def _who(me: dict[str, Any]) -> Text:
    sets = ", ".join(held["name"] for held in me["permission_sets"]) or "(none)"
    return Text(f"{me['login']}  permission sets: {sets}")


def _identity_lines(items: list[dict[str, Any]]) -> Text:
    return Text(
        "\n".join(
            f"{item['login']}  {'enabled' if item['enabled'] else 'disabled'}  "
            f"{','.join(item['permission_sets']) or '-'}"
            for item in items
        )
    )


def _token_lines(rows: list[dict[str, Any]]) -> Text:
    return Text(
        "\n".join(
            f"{row['id']}  {row['kind']}  {row['label']}  "
            + ("revoked" if row["revoked"] else f"expires {row['expires_at'] or 'never'}")
            for row in rows
        )
    )
