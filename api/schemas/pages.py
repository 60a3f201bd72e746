"""Paged lists: catalogs (packs, actions, ...) page by offset, history by id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from api.params import INT64_MAX
from db.repositories.base import DEFAULT_LIMIT, MAX_LIMIT

ItemT = TypeVar("ItemT", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX, description="Items to skip (catalog lists).")]
BeforeId = Annotated[
    int | None,
    Query(ge=1, le=INT64_MAX, description="Only items older than this id: the last id you saw."),
]
DEFAULT_PAGE = DEFAULT_LIMIT


class CatalogPage(BaseModel, Generic[ItemT]):
    """Definitions in ref order; pass `next_offset` as `offset` for the next page."""

    items: list[ItemT]
    next_offset: int | None


class HistoryPage(BaseModel, Generic[ItemT]):
    """Records newest first; pass `next_before_id` as `before_id` for the next page."""

    items: list[ItemT]
    next_before_id: int | None


def catalog_page(
    rows: Sequence[Any], read: Callable[[Any], ItemT], *, limit: int, offset: int
) -> CatalogPage[ItemT]:
    full = len(rows) == limit
    return CatalogPage[ItemT](
        items=[read(row) for row in rows], next_offset=offset + limit if full else None
    )


def history_page(
    rows: Sequence[Any], read: Callable[[Any], ItemT], *, limit: int
) -> HistoryPage[ItemT]:
    return HistoryPage[ItemT](
        items=[read(row) for row in rows], next_before_id=next_before_id(rows, limit=limit)
    )


def next_before_id(rows: Sequence[Any], *, limit: int) -> int | None:
    """The cursor of the next history page: a full page may have more behind it."""
    return int(rows[-1].id) if len(rows) == limit else None


def present(**filters: Any) -> dict[str, Any]:
    """The filters the caller gave: a query parameter left out filters nothing."""
    return {name: value for name, value in filters.items() if value is not None}
