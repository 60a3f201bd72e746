"""A deployment as a workflow: parallel checks, a migration that may fail, a person's yes."""

import asyncio

from attune.sdk import ActionFailed, InquiryTimedOut, ask, run_action


class Deploy:
    async def run(self, service: str, hosts: list, approvers: list) -> dict:
        # Each check is a child execution of its own; they run at the same time.
        checks = await asyncio.gather(
            *(run_action("examples.check_host", {"host": host}) for host in hosts)
        )
        ready = [check["result"]["host"] for check in checks if check["result"]["ready"]]
        try:
            await run_action("examples.migrate", {"service": service})
        except ActionFailed as failure:
            return {"deployed": False, "ready": ready, "why": failure.error}
        try:
            answer = await ask(
                f"Deploy {service} to {len(ready)} hosts?",
                schema={
                    "type": "object",
                    "required": ["approve"],
                    "properties": {"approve": {"type": "boolean"}, "note": {"type": "string"}},
                },
                assignees=approvers,
                ttl=1800,
            )
        except InquiryTimedOut:
            return {"deployed": False, "ready": ready, "why": "nobody answered in time"}
        return {"deployed": answer["approve"], "ready": ready, "note": answer.get("note", "")}
