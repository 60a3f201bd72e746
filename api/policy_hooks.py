"""What the API does once a change to a policy has committed."""

from __future__ import annotations

from api.services import Services
from attune.engine.admission import grant_free_slots


async def on_policy_changed(services: Services, action_ref: str) -> None:
    """Grant the slots a created, changed or deleted policy on `action_ref` has freed.

    Called after the commit, so the change is already in the database. A raised, disabled
    or removed limit takes effect now rather than at the next release; a lowered one takes
    effect at the grants that follow.
    """
    async with services.sessions() as session:
        await grant_free_slots(session, services.starter.client, action_ref=action_ref)
