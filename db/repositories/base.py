"""The operations every entity shares, written once: find, get, list, create, update, delete.

Each entity module holds one `Repository` for its model plus the queries only it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    SmallInteger,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from attune import errors
from attune.excerpts import EXCERPT_CHARS, excerpt, shortened
from db.models.base import Record
from db.repositories.errors import domain_errors

ModelT = TypeVar("ModelT", bound=Record)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FRESH = {"populate_existing": True}
# asyncpg rejects an out-of-range integer before PostgreSQL sees it, naming only the query
# argument ($6); checking here lets the error name the field.
INTEGER_RANGES = {
    SmallInteger: (-(2**15), 2**15 - 1),
    BigInteger: (-(2**63), 2**63 - 1),
    Integer: (-(2**31), 2**31 - 1),
}
# Columns the database owns; callers never set them.
READ_ONLY = frozenset({"id", "created", "updated"})


class Repository(Generic[ModelT]):
    """Persistence of one model.

    `order_by` gives the list order of definitions (by ref, login, ...). With
    `newest_first`, lists are history: newest first, paged by keyset on `id` (identity ids
    only grow, so `id < before_id` walks back in time without skipping rows).
    """

    def __init__(
        self,
        model: type[ModelT],
        *,
        noun: str,
        order_by: Sequence[str] = ("id",),
        newest_first: bool = False,
        natural_key: str | None = None,
    ) -> None:
        self.model = model
        self.noun = noun
        self.order_by = tuple(order_by)
        self.newest_first = newest_first
        self.natural_key = natural_key
        table = model.__table__  # type: ignore[attr-defined]
        self.columns = frozenset(column.key for column in table.columns)
        # An explicit None for these is refused up front: for JSON columns the ORM would
        # otherwise store a JSON null (or quietly apply the default) instead of failing.
        self.required = frozenset(column.key for column in table.columns if not column.nullable)
        self.integer_ranges = {
            column.key: bounds
            for column in table.columns
            if (bounds := _integer_range(column.type)) is not None
        }

    async def find(self, session: AsyncSession, *, id: int) -> ModelT | None:
        """The record with this id, or None; always as the database has it now."""
        # populate_existing: the database's ON DELETE rules change rows the session holds.
        return await session.get(self.model, id, populate_existing=True)

    async def get(self, session: AsyncSession, *, id: int) -> ModelT:
        """The record with this id; `NotFound` when there is none."""
        record = await self.find(session, id=id)
        if record is None:
            raise self.not_found_by_id(id)
        return record

    def not_found_by_id(self, id: int) -> errors.NotFound:
        """The 404 of a missing id; also what a caller gets for a record it may not see."""
        return errors.NotFound(f"{self.noun} {id} not found", details={"id": id})

    async def find_by_key(self, session: AsyncSession, key: str) -> ModelT | None:
        """The record whose natural key (ref, login, ...) is `key`, or None."""
        assert self.natural_key is not None, f"{self.noun} has no natural key"
        query = select(self.model).where(self._column(self.natural_key) == key)
        return (await session.scalars(query, execution_options=FRESH)).one_or_none()

    async def get_by_key(self, session: AsyncSession, key: str) -> ModelT:
        """The record whose natural key is `key`; `NotFound` naming it when there is none."""
        record = await self.find_by_key(session, key)
        if record is None:
            raise self.not_found_by_key(key)
        return record

    def not_found_by_key(self, key: str) -> errors.NotFound:
        """The 404 of a missing key; also what a caller gets for a record it may not see."""
        # The key is the caller's: quoted as an excerpt, so a 4 KiB ref is not echoed.
        return errors.NotFound(
            f"{self.noun} {excerpt(key)} not found",
            details={self.natural_key or "key": shortened(key, EXCERPT_CHARS * 2)},
        )

    async def list(
        self,
        session: AsyncSession,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        before_id: int | None = None,
        where: Sequence[ColumnElement[bool]] = (),
        **equals: Any,
    ) -> list[ModelT]:
        """Records matching every `column=value` filter and `where` clause, in list order.

        Definitions page with `offset`; history pages with `before_id` (the last id seen).
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise errors.ValidationError(
                f"limit must be between 1 and {MAX_LIMIT}, not {limit}", details={"field": "limit"}
            )
        if offset < 0:
            raise errors.ValidationError("offset must not be negative", details={"field": "offset"})
        query = self._filtered(equals, where)
        if before_id is not None:
            query = query.where(self._column("id") < before_id)
        page = query.limit(limit).offset(offset)
        return list((await session.scalars(page, execution_options=FRESH)).all())

    async def find_first(
        self,
        session: AsyncSession,
        *,
        where: Sequence[ColumnElement[bool]] = (),
        **equals: Any,
    ) -> ModelT | None:
        """The first record in list order matching the filters (as in `list`), or None."""
        found = await self.list(session, where=where, limit=1, **equals)
        return found[0] if found else None

    async def create(self, session: AsyncSession, **values: Any) -> ModelT:
        """Insert a record; the database fills every default it owns."""
        self._check_writable(values)
        record = self.model(**values)
        session.add(record)
        await self._flush(session)
        return record

    async def update(self, session: AsyncSession, *, id: int, changes: Mapping[str, Any]) -> ModelT:
        """Set only the fields given; no fields returns the record unchanged."""
        record = await self.get(session, id=id)
        if not changes:
            return record
        self._check_writable(changes)
        for field, value in changes.items():
            setattr(record, field, value)
        await self._flush(session)
        return record

    async def stamp_now(self, session: AsyncSession, *, id: int, column: str) -> ModelT:
        """Set `column` to the database's clock in one UPDATE; `NotFound` when there is none.

        clock_timestamp(), not now(): stamps within one transaction still move forward.
        """
        self._check_known([column], self.columns)
        statement = (
            update(self.model)
            .where(self._column("id") == id)
            .values({column: func.clock_timestamp()})
            .returning(self.model)
        )
        record = (await session.scalars(statement, execution_options=FRESH)).one_or_none()
        if record is None:
            raise errors.NotFound(f"{self.noun} {id} not found", details={"id": id})
        return record

    async def delete(self, session: AsyncSession, *, id: int) -> bool:
        """Delete the record; says whether there was one. The database applies the FK rules."""
        record = await self.find(session, id=id)
        if record is None:
            return False
        await session.delete(record)
        await self._flush(session)
        return True

    def _filtered(
        self, equals: Mapping[str, Any], where: Sequence[ColumnElement[bool]]
    ) -> Select[ModelT]:
        self._check_known(equals, self.columns)
        query = select(self.model).where(*where)
        for field, value in equals.items():
            query = query.where(self._column(field) == value)
        if self.newest_first:
            return query.order_by(self._column("id").desc())
        return query.order_by(*(self._column(name) for name in self.order_by), self._column("id"))

    def _column(self, name: str) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self.model, name)
        return column

    def _check_known(self, names: Iterable[str], allowed: frozenset[str], kind: str = "") -> None:
        unknown = sorted(set(names) - allowed)
        if unknown:
            raise errors.ValidationError(
                f"{self.noun} has no {kind}field {', '.join(unknown)}",
                details={"fields": unknown},
            )

    def _check_writable(self, values: Mapping[str, Any]) -> None:
        """Refuse unknown or read-only fields, None where required, out-of-range integers."""
        self._check_known(values, self.columns - READ_ONLY, "settable ")
        for field, value in values.items():
            if value is None and field in self.required:
                raise errors.ValidationError(
                    f"invalid {self.noun}: {field} is required", details={"field": field}
                )
            bounds = self.integer_ranges.get(field)
            if (
                bounds is not None
                and isinstance(value, int)
                and not bounds[0] <= value <= bounds[1]
            ):
                raise errors.ValidationError(
                    f"invalid {self.noun}: {field} must be between {bounds[0]} and {bounds[1]}",
                    details={"field": field},
                )

    async def _flush(self, session: AsyncSession) -> None:
        with domain_errors(self.noun):
            await session.flush()


def _integer_range(column_type: object) -> tuple[int, int] | None:
    # Most specific first: BigInteger and SmallInteger are subclasses of Integer.
    for kind, bounds in INTEGER_RANGES.items():
        if isinstance(column_type, kind):
            return bounds
    return None
