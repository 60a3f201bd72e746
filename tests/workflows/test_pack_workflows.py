"""Workflows as code, end to end through the API, on real servers and a real worker."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from tests.conftest import TemporalServer
from tests.workflows.histories import assert_replays
from tests.workflows.pack_workflows import (
    children_of,
    finished,
    pack_with,
    register_flow_pack,
    run_workflow,
    workflow_action,
)
from workflows import search_attributes

pytestmark = pytest.mark.usefixtures("worker")

DEPLOY = """
import asyncio
from attune.sdk import ActionFailed, run_action

class Deploy:
    async def run(self, service: str, hosts: list) -> dict:
        checks = await asyncio.gather(
            *(run_action("PACK.step", {"label": host, "seconds": 0.3}) for host in hosts)
        )
        try:
            await run_action("PACK.step", {"label": "migrate " + service, "code": 3})
        except ActionFailed as failure:
            return {
                "checked": [check["result"]["label"] for check in checks],
                "failed": [failure.execution_id, failure.status, failure.error],
            }
        return {"unexpected": "the migration did not fail"}
"""


async def test_children_run_in_parallel_and_a_caught_failure_shapes_the_result(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    parameters = {"service": {"type": "string", "required": True}, "hosts": {"type": "array"}}
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Deploy", DEPLOY, parameters=parameters)

    parent_id = await run_workflow(api, f"{ref}.flow", {"service": "checkout", "hosts": ["a", "b"]})
    parent = await finished(api, parent_id)

    assert parent["status"] == "completed", parent
    children = await children_of(api, parent_id)
    assert [child["parent_id"] for child in children] == [parent_id] * 3
    assert [child["action_ref"] for child in children] == [f"{ref}.step"] * 3
    assert [child["status"] for child in children] == ["completed", "completed", "failed"]
    migrate = children[2]
    assert parent["result"] == {
        "checked": ["a", "b"],
        "failed": [migrate["id"], "failed", "exit code 3"],
    }
    # The two checks ran at the same time: each started before the other ended.
    first, second = children[0], children[1]
    assert first["started_at"] < second["ended_at"]
    assert second["started_at"] < first["ended_at"]
    # In the Temporal Web UI: child workflows of the parent's, found by their parent's id.
    for child in children:
        description = await temporal.client.get_workflow_handle(child["workflow_id"]).describe()
        assert description.parent_id == f"execution-{parent_id}"
        found = description.typed_search_attributes
        assert found.get(search_attributes.PARENT_EXECUTION_ID) == parent_id
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{parent_id}"),
        path="children_in_parallel_failure_caught",
    )


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (
            "from attune.sdk import run_action\n\nclass Flow:\n    async def run(self):\n"
            "        await run_action('PACK.step', {'code': 2})\n",
            "uncaught ActionFailed: execution",
        ),
        (
            "class Flow:\n    async def run(self):\n        raise ValueError('no capacity left')\n",
            "ValueError: no capacity left",
        ),
        ("class Flow:\n    async def run(self):\n        return {1, 2}\n", "not JSON"),
        (
            "class Flow:\n    async def run(self):\n        return float('nan')\n",
            "not JSON compliant",
        ),
        (
            "class Flow:\n    async def run(self):\n        return 'x' * 1_100_000\n",
            "more than the 1048576",
        ),
        # Not Exceptions, yet the code's: they end the execution like any other.
        ("class Flow:\n    async def run(self):\n        raise SystemExit(3)\n", "SystemExit: 3"),
        (
            "class Flow:\n    async def run(self):\n        raise BaseException('odd')\n",
            "BaseException: odd",
        ),
        (
            "from temporalio import workflow\n\nclass Flow:\n    async def run(self):\n"
            "        workflow.continue_as_new()\n",
            "ContinueAsNewError",
        ),
        # The code's own deadline is its failure, not the action's timeout.
        (
            "class Flow:\n    async def run(self):\n"
            "        raise TimeoutError('my own deadline')\n",
            "TimeoutError: my own deadline",
        ),
    ],
)
async def test_an_exception_the_code_lets_out_fails_the_execution_with_its_message(
    api: httpx.AsyncClient, tmp_path: Path, source: str, says: str
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", source)

    execution = await finished(api, await run_workflow(api, f"{ref}.flow"))

    assert execution["status"] == "failed"
    assert says in execution["error"]


async def test_a_bad_child_parameter_is_refused_before_anything_runs(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    source = (
        "from attune.sdk import ActionFailed, run_action\n\nclass Flow:\n"
        "    async def run(self):\n        try:\n"
        "            await run_action('PACK.step', {'nope': 1})\n"
        "        except ActionFailed as failure:\n"
        "            return [failure.execution_id, failure.status, failure.error]\n"
    )
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", source)

    parent_id = await run_workflow(api, f"{ref}.flow")
    execution = await finished(api, parent_id)

    assert execution["status"] == "completed", execution
    execution_id, status, error = execution["result"]
    assert (execution_id, status) == (None, "failed")
    assert "nope" in error
    assert await children_of(api, parent_id) == []


async def test_workflows_nest(api: httpx.AsyncClient, tmp_path: Path) -> None:
    source = (
        "from attune.sdk import run_action\n\n"
        "class Outer:\n    async def run(self):\n"
        "        inner = await run_action('PACK.inner', {'word': 'deep'})\n"
        "        return {'outer': inner}\n\n"
        "class Inner:\n    async def run(self, word):\n"
        "        step = await run_action('PACK.step', {'label': word})\n"
        "        return step['result']['label']\n"
    )
    ref = await register_flow_pack(
        api,
        tmp_path,
        source,
        {
            "flow": workflow_action("workflows/flow.py:Outer"),
            "inner": workflow_action(
                "workflows/flow.py:Inner", {"word": {"type": "string", "required": True}}
            ),
        },
    )

    outer_id = await run_workflow(api, f"{ref}.flow")
    outer = await finished(api, outer_id)

    assert outer["status"] == "completed", outer
    assert outer["result"] == {"outer": "deep"}
    [inner] = await children_of(api, outer_id)
    assert inner["action_ref"] == f"{ref}.inner"
    [step] = await children_of(api, inner["id"])
    assert step["parent_id"] == inner["id"]


async def test_a_fifo_limited_child_waits_its_turn(api: httpx.AsyncClient, tmp_path: Path) -> None:
    source = (
        "import asyncio\nfrom attune.sdk import run_action\n\nclass Flow:\n"
        "    async def run(self):\n"
        "        return await asyncio.gather(*(run_action('PACK.step', "
        "{'label': str(n), 'seconds': 0.4}) for n in range(3)))\n"
    )
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", source)
    policy = {"name": "one_at_a_time", "action": f"{ref}.step", "concurrency": {"limit": 1}}
    assert (await api.post("/api/v1/policies", json=policy)).status_code == 201

    parent_id = await run_workflow(api, f"{ref}.flow")
    parent = await finished(api, parent_id)

    assert parent["status"] == "completed", parent
    children = await children_of(api, parent_id)
    assert [child["queue_position"] is not None for child in children] == [True] * 3
    by_grant = sorted(children, key=lambda child: child["admitted_at"])
    assert [child["queue_position"] for child in by_grant] == sorted(
        child["queue_position"] for child in children
    )
    for earlier, later in itertools.pairwise(by_grant):
        assert earlier["ended_at"] <= later["started_at"]  # never two at once


@pytest.mark.parametrize(
    ("source", "names"),
    [
        (
            "import time\n\nclass Flow:\n    async def run(self):\n        return time.time()\n",
            "time.time",
        ),
        (
            "import random\n\nclass Flow:\n    async def run(self):\n"
            "        return random.random()\n",
            "random.random",
        ),
        (
            "OPENED = open('/etc/hostname')\n\n"
            "class Flow:\n    async def run(self):\n        return 1\n",
            "open",
        ),
    ],
)
async def test_code_that_breaks_determinism_fails_naming_the_call(
    api: httpx.AsyncClient, tmp_path: Path, source: str, names: str
) -> None:
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", source)

    execution = await finished(api, await run_workflow(api, f"{ref}.flow"), within=30)

    assert execution["status"] == "failed", execution
    assert names in execution["error"]


async def test_the_actions_timeout_bounds_the_whole_workflow(
    api: httpx.AsyncClient, temporal: TemporalServer, tmp_path: Path
) -> None:
    source = (
        "from attune.sdk import run_action\n\nclass Flow:\n    async def run(self):\n"
        "        await run_action('PACK.step', {'seconds': 30})\n"
    )
    ref = await pack_with(api, tmp_path, "workflows/flow.py:Flow", source, timeout=2)

    parent_id = await run_workflow(api, f"{ref}.flow")
    parent = await finished(api, parent_id, within=30)

    assert parent["status"] == "timeout", parent["error"]
    assert "ran out of its 2 s" in parent["error"]
    [child] = await children_of(api, parent_id)
    assert child["status"] == "cancelled"
    await assert_replays(
        temporal.client.get_workflow_handle(f"execution-{parent_id}"),
        path="timeout_cancels_children",
    )
