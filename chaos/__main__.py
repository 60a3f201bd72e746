"""`python -m chaos`: run the scenarios one after the other, print a line each and the goal."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from chaos.report import Result, goal_line
from chaos.run import run_scenario
from chaos.scenarios import SCENARIOS


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument(
        "--executions", type=int, default=200, help="executions per scenario (default 200)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeatable); default: all, in order",
    )
    parser.add_argument(
        "--deadline", type=float, default=180.0, help="seconds to wait for every ending"
    )
    parser.add_argument("--keep", action="store_true", help="keep each scenario's folder")
    parsed = parser.parse_args(argv)
    if parsed.executions < 10:
        parser.error("--executions must be at least 10")
    return parsed


async def main(argv: list[str]) -> int:
    options = arguments(argv)
    names = options.scenario or list(SCENARIOS)
    results: list[Result] = []
    began = time.monotonic()
    for name in names:
        result = await run_scenario(
            SCENARIOS[name],
            executions=options.executions,
            deadline_s=options.deadline,
            keep=options.keep,
        )
        results.append(result)
        print(result.details(), flush=True)
    print(goal_line(results), flush=True)
    print(f"took {time.monotonic() - began:.0f}s for {len(results)} scenarios", flush=True)
    return 0 if all(result.met for result in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
