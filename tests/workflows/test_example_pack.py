"""The example pack of the README's "Workflows as code" does what the README says."""

from __future__ import annotations

import httpx
import pytest

from attune.config import BUNDLED_PACKS_DIR
from tests.inquiries import wait_for_inquiry
from tests.workflows.pack_workflows import children_of, finished, run_workflow

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def examples(api: httpx.AsyncClient) -> None:
    folder = BUNDLED_PACKS_DIR / "examples"
    registered = await api.post("/api/v1/packs/register", json={"path": str(folder)})
    assert registered.status_code == 200, registered.text


@pytest.mark.usefixtures("examples")
async def test_a_deploy_checks_in_parallel_asks_and_reports(api: httpx.AsyncClient) -> None:
    parameters = {"service": "checkout", "hosts": ["web-1", "web-2"]}
    deploy_id = await run_workflow(api, "examples.deploy", parameters)
    inquiry = await wait_for_inquiry(api, deploy_id)
    assert inquiry["prompt"] == "Deploy checkout to 2 hosts?"

    answered = await api.post(
        f"/api/v1/inquiries/{inquiry['id']}/respond",
        json={"response": {"approve": True, "note": "ship it"}},
    )
    deploy = await finished(api, deploy_id)

    assert answered.status_code == 200, answered.text
    assert deploy["status"] == "completed", deploy
    assert deploy["result"] == {"deployed": True, "ready": ["web-1", "web-2"], "note": "ship it"}
    children = await children_of(api, deploy_id)
    assert [child["action_ref"] for child in children] == [
        "examples.check_host",
        "examples.check_host",
        "examples.migrate",
    ]


@pytest.mark.usefixtures("examples")
async def test_a_failed_migration_is_reported_not_deployed(api: httpx.AsyncClient) -> None:
    deploy_id = await run_workflow(api, "examples.deploy", {"service": "legacy", "hosts": ["a"]})

    deploy = await finished(api, deploy_id)

    assert deploy["status"] == "completed", deploy
    assert deploy["result"] == {"deployed": False, "ready": ["a"], "why": "exit code 3"}
