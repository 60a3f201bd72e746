"""A stand-in for the worker, for tests that kill it: runs one local-shell-cmd action.

`python -m tests.activities.runners.stand_in_worker PARAMETERS_JSON [ENDING_FILE]`: the
parameters hold `cmd` (and whatever the command reads from `ATTUNE_PARAM_*`). Without an
ending file the request is one the worker before the action guard understood too, so the
same test can show what that worker left behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from activities.runners import run_action
from tests.activities.runners.support import make_request


async def main(argv: list[str]) -> None:
    """Run the action; the output is printed, for a test that lets the stand-in live."""
    request = make_request("local-shell-cmd", json.loads(argv[1]))
    if len(argv) > 2:
        request = dataclasses.replace(request, ending_file=Path(argv[2]))
    output = await run_action(request)
    print(json.dumps(output.to_json()))


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
