"""The bounded summary of an execution the Temporal Web UI shows as the workflow's result.

However large an action's output, the summary stays a few KB: the first 2 KB of stdout
and of stderr, the parameters (already masked where secret) while their JSON is short, the
error's start. Far below Temporal's payload limits (2 MB), and cheap to encrypt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from activities.execution_types import ExecutionSummary
from activities.runners.types import RunOutput

OUTPUT_CHARS = 2048
"""The start of stdout and of stderr the summary keeps."""
PARAMETERS_CHARS = 2048
ERROR_CHARS = 2048
ARTIFACTS_LISTED = 20


def execution_url(api_url: str, execution_id: int) -> str:
    return f"{api_url.rstrip('/')}/api/v1/executions/{execution_id}"


def artifact_content_url(api_url: str, artifact_id: int) -> str:
    return f"{api_url.rstrip('/')}/api/v1/artifacts/{artifact_id}/content"


def summarize(
    *,
    execution_id: int,
    action_ref: str,
    masked_parameters: Mapping[str, Any],
    api_url: str,
    output: RunOutput | None = None,
    error: str | None = None,
    artifacts: Sequence[tuple[int, str]] = (),
) -> ExecutionSummary:
    """The summary of one execution; `masked_parameters` as the execution row holds them;
    `artifacts` the (id, name) of those its run left."""
    ended_with = error if error is not None else (output.error if output else None)
    listed = [
        f"{name}: {artifact_content_url(api_url, artifact_id)}"
        for artifact_id, name in artifacts[:ARTIFACTS_LISTED]
    ]
    if len(artifacts) > ARTIFACTS_LISTED:
        listed.append(f"and {len(artifacts) - ARTIFACTS_LISTED} more")
    return ExecutionSummary(
        action=action_ref,
        url=execution_url(api_url, execution_id),
        parameters=_bounded_parameters(masked_parameters),
        exit_code=output.exit_code if output else None,
        stdout=_start(output.stdout, OUTPUT_CHARS) if output else "",
        stderr=_start(output.stderr, OUTPUT_CHARS) if output else "",
        error=_start(ended_with, ERROR_CHARS) if ended_with is not None else None,
        artifacts=listed,
    )


def summarize_row(row: Mapping[str, Any], *, api_url: str) -> ExecutionSummary:
    """The summary from an execution row's columns (id, action_ref, parameters, result,
    error), for endings recorded without the run's output in hand."""
    result = row.get("result")
    output = result if isinstance(result, Mapping) else {}
    exit_code = output.get("exit_code")
    return ExecutionSummary(
        action=str(row["action_ref"]),
        url=execution_url(api_url, int(row["id"])),
        parameters=_bounded_parameters(row.get("parameters") or {}),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        stdout=_start(str(output.get("stdout") or ""), OUTPUT_CHARS),
        stderr=_start(str(output.get("stderr") or ""), OUTPUT_CHARS),
        error=_start(row["error"], ERROR_CHARS) if row.get("error") is not None else None,
    )


def _bounded_parameters(parameters: Mapping[str, Any]) -> dict[str, Any] | str:
    text = json.dumps(parameters, default=str)
    if len(text) <= PARAMETERS_CHARS:
        return dict(parameters)
    return _start(text, PARAMETERS_CHARS)


def _start(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… ({len(text) - limit} more characters at the execution's url)"


def as_markdown(status: str, summary: ExecutionSummary | None) -> str:
    """The summary as the Web UI's "current details" of the workflow (it renders Markdown)."""
    if summary is None:
        return f"**{status}**"
    lines = [f"**{status}**: `{summary.action}` · [execution record]({summary.url})"]
    if summary.exit_code is not None:
        lines.append(f"exit code {summary.exit_code}")
    # Fenced like the output: the action writes the error's text, and Markdown in it (links,
    # images) must not render in the Web UI.
    for name, text in (
        ("error", summary.error),
        ("stdout", summary.stdout),
        ("stderr", summary.stderr),
    ):
        if text:
            lines.append(f"{name}:\n```\n{text.replace('```', '` ` `')}\n```")
    if summary.artifacts:
        # Fenced too: the action chose the names.
        listed = "\n".join(summary.artifacts).replace("```", "` ` `")
        lines.append(f"artifacts:\n```\n{listed}\n```")
    return "\n\n".join(lines)
