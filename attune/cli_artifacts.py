"""`attune artifact list|get|download`: what executions produced, through the API."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from attune.cli_support import (
    Output,
    OutputOption,
    cli_settings,
    errors,
    print_item,
    print_items,
    query_string,
    run_checked,
)
from attune.cli_views import Column, detail, stamp, table_of, text

artifact_app = typer.Typer(
    help="Artifacts: files, tables, images, links and progress executions produce.",
    no_args_is_help=True,
)
IdArgument = Annotated[int, typer.Argument(min=1, help="The artifact's id.")]


def _size(item: Any) -> str:
    if item.get("content_url") is None:
        return "-"
    size = int(item.get("size_bytes") or 0)
    if size < 1024:
        return f"{size} B"
    scaled = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        scaled /= 1024
        if scaled < 1024 or unit == "GiB":
            break
    return f"{scaled:.1f} {unit}"


def _what(item: Any) -> str:
    """A JSON artifact's data as a person reads it: the percent, the link."""
    data = item.get("data")
    if item.get("type") == "progress" and isinstance(data, dict):
        return f"{data.get('percent', 0):g}% {data.get('message') or ''}".strip()
    if item.get("type") == "url" and isinstance(data, dict):
        return str(data.get("url", "-"))
    return text("name")(item)


ARTIFACTS = table_of(
    [
        Column("ID", text("id"), justify="right"),
        Column("REF", text("ref")),
        Column("TYPE", text("type")),
        Column("WHAT", _what),
        Column("SIZE", _size, justify="right"),
        Column("EXECUTION", text("execution_id"), justify="right"),
        Column("CREATED", stamp("created")),
    ],
    "(no artifacts)",
)


@artifact_app.command("list")
def list_artifacts(
    execution: Annotated[int | None, typer.Option(min=1, help="Only this execution's.")] = None,
    ref: Annotated[str | None, typer.Option(help="Only the versions of this ref.")] = None,
    type: Annotated[str | None, typer.Option(help="Only this type (file_text, url, ...).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 100,
    output: OutputOption = Output.TABLE,
) -> None:
    """List artifacts, newest first."""
    query = query_string(execution=execution, ref=ref, type=type, limit=limit)
    print_items(f"/artifacts{query}", output, ARTIFACTS)


@artifact_app.command("get")
def get_artifact(artifact_id: IdArgument, output: OutputOption = Output.TABLE) -> None:
    """Show one artifact: what it is, whose, its data or its file's size and SHA-256."""
    print_item(f"/artifacts/{artifact_id}", output, detail)


@artifact_app.command("download")
def download_artifact(
    artifact_id: IdArgument,
    to: Annotated[
        str | None,
        typer.Option("--to", help="The file to write ('-' for stdout). Default: its name here."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite a file that exists.")] = False,
) -> None:
    """Download a file artifact's bytes, as they were produced."""
    from attune.api_client import call_api, download

    settings = cli_settings()

    def step() -> None:
        item = call_api(settings, "GET", f"/artifacts/{artifact_id}")
        path = f"/artifacts/{artifact_id}/content"
        if to == "-":
            download(settings, path, sys.stdout.buffer)
            return
        target = Path(to or (item.get("name") or f"artifact-{artifact_id}").rsplit("/", 1)[-1])
        if target.exists() and not force:
            errors.print(f"[bold red]attune:[/] {target} exists; give --force to overwrite it")
            raise typer.Exit(code=1)
        partial = target.with_name(target.name + ".partial")
        shown = Console(stderr=True)
        try:
            with (
                partial.open("wb") as sink,
                Progress(
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=shown,
                    transient=True,
                ) as bar,
            ):
                task = bar.add_task("download", total=item.get("size_bytes") or None)
                done = download(
                    settings, path, sink, lambda got, _: bar.update(task, completed=got)
                )
        except BaseException:
            partial.unlink(missing_ok=True)  # no half file left where the whole one goes
            raise
        os.replace(partial, target)
        errors.print(f"wrote {target} ({done:,} bytes)")

    run_checked(step)
