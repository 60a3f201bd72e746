"""Custom search attributes: how operators find an execution in the Temporal Web UI.

Never put a secret in one: search attributes are stored and shown in plain text.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

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
