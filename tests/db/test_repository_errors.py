"""Every rule the schema enforces has a message a person can read."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.ext.asyncio import AsyncSession

import db.models  # noqa: F401  (registers every table on the metadata)
from attune import errors
from db.models import RuntimeType
from db.repositories import runtime
from db.repositories.errors import CHECK_MESSAGES
from db.schema import metadata
from tests.db.factories import make_identity, make_pack


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
