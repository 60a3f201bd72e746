"""A rule's action parameters, rendered from the event: the names its templates can use.

`trigger` (the payload), `event`, `rule`, `pack` (its ref and config) always; `keystore`
and `st2kv` when some template mentions them (`attune.keys.templates`), so a rule that
reads no key costs no query of the key table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.runners.types import SHELL_PARAMETERS
from attune.keys.templates import KeyOwners, read_keys
from attune.packs.parameters import secret_parameters
from attune.rules.templating import render_parameters_off_loop
from db.models import Action, Event, Pack, Rule


async def render_rule_parameters(
    session: AsyncSession,
    *,
    rule: Rule,
    event: Event,
    action: Action,
    pack: Pack | None,
    key_ring: Sequence[bytes],
) -> dict[str, Any]:
    """The rule's parameters rendered for `event`; `ValidationError` naming the parameter.

    `pack` is the rule's pack: `keystore.pack` reads its keys, `pack.config` its config.
    """
    context = template_context(rule, event, pack)
    config = context["pack"]["config"]
    # The config's templates matter only to a rule that reads the config.
    templates: list[Any] = [rule.action_parameters]
    if _mentions(rule.action_parameters, "config"):
        templates.append(config)
    keys = await read_keys(
        session,
        templates,
        owners=KeyOwners(pack=rule.pack_ref),
        key_ring=key_ring,
        secret_parameters=secret_parameters(action.parameters),
        reader=f"rule:{rule.ref}",
    )
    if keys is not None:
        context |= keys.names()
        context["pack"]["config"] = keys.config(config)
    return await render_parameters_off_loop(
        rule.action_parameters,
        context,
        shell_parameters=SHELL_PARAMETERS.get(action.runner_type, frozenset()),
    )


def template_context(rule: Rule, event: Event, pack: Pack | None) -> dict[str, Any]:
    """The names a rule's parameter templates can use, keys aside."""
    return {
        "trigger": event.payload,
        "event": {
            "id": event.id,
            "trigger": event.trigger_ref,
            "payload": event.payload,
            "created": event.created.isoformat(),
        },
        "rule": {"ref": rule.ref, "name": rule.name, "pack": rule.pack_ref},
        "pack": {"ref": rule.pack_ref, "config": pack.config if pack is not None else {}},
    }


def _mentions(value: Any, word: str) -> bool:
    if isinstance(value, str):
        return word in value
    if isinstance(value, dict):
        return any(_mentions(item, word) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, word) for item in value)
    return False
