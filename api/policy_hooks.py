"""What the API does once a change to a policy has committed."""

from __future__ import annotations

from api.services import Services


async def on_policy_changed(services: Services, action_ref: str) -> None:
    """React to a policy on `action_ref` created, changed or deleted through the API.

    Called after the commit, so the change is already in the database whatever this does.
    Nothing yet: admission (the next change) grants the slots a changed limit frees.
    """
