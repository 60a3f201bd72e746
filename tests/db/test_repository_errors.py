"""Every rule the schema enforces has a message a person can read."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.ext.asyncio import AsyncSession

import db.models  # noqa: F401  (registers every table on the metadata)
from attune import errors
from db.models import RuntimeType
from db.repositories import runtime
from db.repositories.errors import CHECK_MESSAGES
from db.schema import metadata
from tests.db.factories import make_action, make_event, make_identity, make_pack


def test_every_check_constraint_has_a_message() -> None:
    missing = []
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                kind = str(constraint.name).removeprefix(f"ck_{table.name}_")
                if kind not in CHECK_MESSAGES:
                    missing.append(f"{table.name}: {constraint.name}")
    assert missing == []


async def test_a_value_too_long_to_index_is_a_validation_error(session: AsyncSession) -> None:
    # Random text does not compress, so this overflows the unique index on login.
    with pytest.raises(errors.ValidationError, match="too long"):
        await make_identity(session, login=secrets.token_hex(4000))


async def test_ref_rules_read_right_for_each_table(session: AsyncSession) -> None:
    with pytest.raises(errors.ValidationError, match="no dots"):
        await make_pack(session, ref="has.dot")
    await session.rollback()  # PostgreSQL aborted the transaction with the refused row.
    with pytest.raises(errors.ValidationError, match=r"pack\.action\.name"):
        await runtime.repository.create(
            session, ref="bad", runtime_type=RuntimeType.ACTION, pack_id=None
        )


async def test_a_dotted_pack_part_is_refused(session: AsyncSession) -> None:
    owner = await make_pack(session)
    with pytest.raises(errors.ValidationError, match="no dots in pack_ref") as raised:
        await make_action(session, owner, ref="co.re.echo", pack_ref="co.re", name="echo")
    assert raised.value.details["constraint"] == "ck_action_ref_parts"


@pytest.mark.parametrize(
    ("make", "field"),
    [(make_event, "payload"), (make_identity, "attributes"), (make_action, "parameters")],
)
async def test_none_for_a_json_object_column_is_refused(
    session: AsyncSession, make: Callable[..., Awaitable[object]], field: str
) -> None:
    # Stored silently as JSON null, it would come back as None where callers expect a dict.
    with pytest.raises(errors.ValidationError, match=f"{field} is required"):
        await make(session, **{field: None})
