"""Deleting artifacts past their retention: per ref, by the policy of its newest version.

Versions are those of one ref in one pack (`pack_ref`, none for an artifact of no pack):
a ref of another pack, however spelled, never decides what of this one's is kept. A ref's
newest version says how its versions are kept: `versions` N keeps the newest N,
`days`/`hours`/`minutes` N keeps those created less than N of them ago (the newest too
goes once it is that old). A limit below 1 keeps them all. Each batch deletes at most
`batch_size` rows, skipping rows another transaction holds, and returns the names of the
store files the caller removes once the batch has committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

# One row per version past its ref's retention, oldest first.
_PAST_RETENTION = """
WITH newest AS (
    SELECT DISTINCT ON (pack, ref)
        coalesce(pack_ref, '') AS pack, ref, retention_policy AS policy, retention_limit AS keep
    FROM attune.artifact
    ORDER BY pack, ref, id DESC
), versions AS (
    SELECT id, coalesce(pack_ref, '') AS pack, ref, created,
        row_number() OVER (PARTITION BY coalesce(pack_ref, ''), ref ORDER BY id DESC) AS version
    FROM attune.artifact
)
SELECT v.id FROM versions v JOIN newest n USING (pack, ref)
WHERE n.keep >= 1 AND CASE n.policy
    WHEN 'versions' THEN v.version > n.keep
    -- An age against an interval: no limit, however large, takes a timestamp out of range.
    WHEN 'days' THEN CAST(:now AS timestamptz) - v.created > make_interval(days => n.keep)
    WHEN 'hours' THEN CAST(:now AS timestamptz) - v.created > make_interval(hours => n.keep)
    WHEN 'minutes' THEN CAST(:now AS timestamptz) - v.created > make_interval(mins => n.keep)
END
"""


async def count_past_retention(session: AsyncSession, *, now: datetime) -> int:
    """How many artifacts a purge would delete now (a dry run)."""
    counted = await session.scalar(
        text(f"SELECT count(*) FROM ({_PAST_RETENTION}) AS past"), {"now": now}
    )
    return int(counted or 0)


async def delete_past_retention(
    session: AsyncSession, *, now: datetime, batch_size: int
) -> tuple[int, list[str]]:
    """Delete up to `batch_size` artifacts past retention, the oldest first: how many went,
    and the store files they held. The caller commits, then removes the files."""
    deleted = await session.execute(
        text(
            f"""
            DELETE FROM attune.artifact WHERE id IN (
                SELECT id FROM attune.artifact
                WHERE id IN (SELECT id FROM ({_PAST_RETENTION}) AS past ORDER BY id LIMIT :batch)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING stored_file
            """
        ),
        {"now": now, "batch": batch_size},
    )
    files = [row.stored_file for row in deleted]
    return len(files), [name for name in files if name is not None]


async def unreferenced(session: AsyncSession, names: list[str]) -> list[str]:
    """Of these store file names, those no artifact row names (orphans)."""
    if not names:
        return []
    held = await session.scalars(
        text("SELECT stored_file FROM attune.artifact WHERE stored_file = ANY(:names)").bindparams(
            bindparam("names", type_=ARRAY(Text()))
        ),
        {"names": names},
    )
    taken = set(held)
    return [name for name in names if name not in taken]
