"""Rules that chain on Attune's own triggers, kept from looping forever.

Each `core.execution_finished` and `core.inquiry_created` event carries `chain`: the
rules that led, through these triggers, to the execution that ended or asked (its own
rule last). A workflow's children carry their root's chain, since they run on its
behalf. A rule never fires on an event whose chain already holds it, so neither a rule
on its own executions (or its workflow's children, or its own questions) nor two rules
on each other's loop, unless the rule asks for it with the trigger parameter
`loops: true`; and no chain grows past `MAX_CHAIN` links, asked or not.
"""

from __future__ import annotations

from typing import Any

from db.models import Rule

EXECUTION_FINISHED = "core.execution_finished"
INQUIRY_CREATED = "core.inquiry_created"
SYSTEM_TRIGGERS = frozenset({EXECUTION_FINISHED, INQUIRY_CREATED})
"""Triggers only Attune fires: refused to callers of the API, whose payloads could lie."""

MAX_CHAIN = 10


def listens(rule: Rule, payload: Any) -> bool:
    """Whether the rule may fire on this event, as far as chains go."""
    if rule.trigger_ref not in SYSTEM_TRIGGERS or not isinstance(payload, dict):
        return True
    chain = payload.get("chain")
    if not isinstance(chain, list):
        return True
    if len(chain) >= MAX_CHAIN:
        return False
    return rule.ref not in chain or rule.trigger_parameters.get("loops") is True
