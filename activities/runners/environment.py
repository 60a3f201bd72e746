"""The environment of an action's process: the worker's, minus its secrets, plus parameters.

Secret parameters are never in it (nor in argv): an action reads them from stdin, with
the others. The environment of a process can be read by other processes of its user
(`/proc/<pid>/environ`) and is copied into every child it starts.
"""

from __future__ import annotations

import json
import os
import re

from activities.runners.types import RunRequest

# One environment string may not exceed 128 KiB on Linux (MAX_ARG_STRLEN), and all of them
# share the argument space; larger values are left to stdin rather than failing the exec.
MAX_ENV_VALUE_BYTES = 32 * 1024
_NOT_IN_ENV_NAME = re.compile(r"[^A-Z0-9_]")


def process_environment(api_url: str) -> dict[str, str]:
    """What any process of pack code (an action, a sensor) starts with: the worker's
    environment without its own settings, and where the API is."""
    # The worker's own ATTUNE_* settings hold its database URL and encryption key: not the
    # pack code's business, and they would shadow the variables Attune sets.
    env = {name: value for name, value in os.environ.items() if not name.startswith("ATTUNE_")}
    env["ATTUNE_API_URL"] = api_url
    return env


def build_environment(request: RunRequest) -> dict[str, str]:
    """An action's environment: `process_environment` plus the action's identity, its
    API token (`ATTUNE_API_TOKEN`, good only for its own execution), the folder whose files
    become its artifacts (`ATTUNE_ARTIFACTS_DIR`) and its non-secret parameters.

    Parameters over MAX_ENV_VALUE_BYTES are left out; stdin has every parameter anyway.
    """
    env = process_environment(request.api_url)
    for name, value in request.parameters.items():
        if name in request.action.secret_parameters:
            continue
        # A shell can only read [A-Z0-9_] names, and "=" in a name would corrupt the block.
        key = "ATTUNE_PARAM_" + _NOT_IN_ENV_NAME.sub("_", name.upper())
        encoded = value if isinstance(value, str) else json.dumps(value)
        if len(encoded.encode()) <= MAX_ENV_VALUE_BYTES:
            env[key] = encoded
    env["ATTUNE_EXECUTION_ID"] = str(request.execution_id)
    env["ATTUNE_ACTION"] = request.action.ref
    if request.api_token is not None:
        env["ATTUNE_API_TOKEN"] = request.api_token
    if request.artifacts_dir is not None:
        env["ATTUNE_ARTIFACTS_DIR"] = str(request.artifacts_dir)
    return env
