"""Custom search attributes: how operators find an execution in the Temporal Web UI.

Never put a secret in one: search attributes are stored and shown in plain text.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

EXECUTION_ID = SearchAttributeKey.for_int("AttuneExecutionId")
ACTION = SearchAttributeKey.for_keyword("AttuneAction")
PACK = SearchAttributeKey.for_keyword("AttunePack")
RULE = SearchAttributeKey.for_keyword("AttuneRule")
TRIGGER = SearchAttributeKey.for_keyword("AttuneTrigger")
STATUS = SearchAttributeKey.for_keyword("AttuneStatus")
PARENT_EXECUTION_ID = SearchAttributeKey.for_int("AttuneParentExecutionId")

ALL: tuple[SearchAttributeKey[int] | SearchAttributeKey[str], ...] = (
    EXECUTION_ID,
    ACTION,
    PACK,
    RULE,
    TRIGGER,
    STATUS,
    PARENT_EXECUTION_ID,
)

# `AttuneStatus` while waiting for admission: not an execution status, only what the Web
# UI shows. An execution whose workflow exists and does not wait shows `scheduled`.
QUEUED_STATUS = "queued"
SCHEDULED_STATUS = "scheduled"


def for_execution(
    execution_id: int,
    action_ref: str,
    *,
    rule_ref: str | None = None,
    trigger_ref: str | None = None,
    parent_id: int | None = None,
    queued: bool = False,
) -> TypedSearchAttributes:
    """An execution's workflow's search attributes when it starts (pure, for workflows too)."""
    pairs: list[SearchAttributePair[int] | SearchAttributePair[str]] = [
        SearchAttributePair(EXECUTION_ID, execution_id),
        SearchAttributePair(ACTION, action_ref),
        SearchAttributePair(PACK, action_ref.split(".", 1)[0]),
        SearchAttributePair(STATUS, QUEUED_STATUS if queued else SCHEDULED_STATUS),
    ]
    if rule_ref is not None:
        pairs.append(SearchAttributePair(RULE, rule_ref))
    if trigger_ref is not None:
        pairs.append(SearchAttributePair(TRIGGER, trigger_ref))
    if parent_id is not None:
        pairs.append(SearchAttributePair(PARENT_EXECUTION_ID, parent_id))
    return TypedSearchAttributes(pairs)
