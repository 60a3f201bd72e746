"""Rotating the encryption key: every secret at rest re-encrypted under the current key.

The procedure (`attune key rotate` runs step 3):

1. Make a new key: `attune keygen`.
2. Stop the API and every worker. They read secrets with the key they started with; a
   process still writing under the old key during the rotation writes rows it may pass.
3. Run, against the database, with the new key current and the old one previous:

       ATTUNE_DATABASE_URL=... ATTUNE_ENCRYPTION_KEY=<new> \\
       ATTUNE_PREVIOUS_ENCRYPTION_KEYS=<old> attune key rotate

   Each secret (the columns of `attune.keys.sealed_columns`: encrypted keys, webhook
   secrets, executions' secret parameters) is opened with any key of the ring (the current
   key first) and sealed again under the current key, in batches, each committed in a
   transaction of its own. Interrupted, nothing is lost: every row opens at every moment
   with the old key or the new one; run it again and it finishes, recognising (and
   skipping) the rows already under the new key. A row no key of the ring opens is
   reported by table and id, left as it is, and the command exits non-zero.
4. Start everything again with ATTUNE_ENCRYPTION_KEY=<new> and the old key still in
   ATTUNE_PREVIOUS_ENCRYPTION_KEYS: key values and webhook secrets are read with the whole
   ring, so anything written under the old key after the rotation still opens (run the
   rotation again to move it). Executions' secret parameters are read with the current key
   only (`attune.engine.secret_parameters`), which is why step 2 stops the workers.
5. Once a run reports nothing re-encrypted and nothing unreadable, and no workflow begun
   before the rotation is still running or kept in Temporal (its payloads stay encrypted
   under the old key: this rotation covers PostgreSQL only), drop the old key from
   ATTUNE_PREVIOUS_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attune.config import Settings, SettingsError
from attune.crypto import (
    SecretDecryptionError,
    decrypt_secret,
    decrypt_secret_with_any,
    encrypt_secret,
)
from attune.keys.sealed_columns import SEALED_COLUMNS, SealedColumn

DEFAULT_BATCH_SIZE = 200


class Outcome(Enum):
    REENCRYPTED = "re-encrypted"
    CURRENT = "already under the current key"
    UNREADABLE = "opened by no key"


@dataclass
class TableTally:
    """What a rotation did to one table's secrets so far."""

    table: str
    reencrypted: int = 0
    current: int = 0
    unreadable: list[int] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.reencrypted + self.current + len(self.unreadable)

    def count(self, outcome: Outcome, row_id: int) -> None:
        if outcome is Outcome.REENCRYPTED:
            self.reencrypted += 1
        elif outcome is Outcome.CURRENT:
            self.current += 1
        else:
            self.unreadable.append(row_id)


@dataclass
class RotationReport:
    """Every table's tally; `finished` False when `limit_batches` stopped it early."""

    tallies: list[TableTally]
    finished: bool = True

    @property
    def reencrypted(self) -> int:
        return sum(tally.reencrypted for tally in self.tallies)

    @property
    def current(self) -> int:
        return sum(tally.current for tally in self.tallies)

    @property
    def unreadable(self) -> list[tuple[str, int]]:
        """(table, id) of every row no key of the ring opened."""
        return [(tally.table, row_id) for tally in self.tallies for row_id in tally.unreadable]


OnBatch = Callable[[TableTally, int], None]
"""Called after each committed batch with the table's tally and the batch's last id."""


def rotation_ring(settings: Settings) -> tuple[bytes, ...]:
    """The key ring to rotate with: the current key first; SettingsError without one."""
    if settings.encryption_key_bytes is None:
        raise SettingsError(
            "ATTUNE_ENCRYPTION_KEY: required to rotate: it is the key secrets are re-encrypted "
            "under (the old one goes in ATTUNE_PREVIOUS_ENCRYPTION_KEYS)"
        )
    return settings.encryption_key_ring


async def rotate_secrets(
    sessions: async_sessionmaker[AsyncSession],
    ring: Sequence[bytes],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limit_batches: int | None = None,
    on_batch: OnBatch | None = None,
    columns: Sequence[SealedColumn] = SEALED_COLUMNS,
) -> RotationReport:
    """Re-encrypt every secret of `columns` under `ring[0]`, opening each with any of `ring`.

    `limit_batches` stops after that many batches (as an interruption would), with
    `finished` False in the report; a later run carries on from where it left off.
    """
    if not ring:
        raise ValueError("a rotation needs the current key")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = RotationReport([TableTally(column.table) for column in columns])
    batches = 0
    for column, tally in zip(columns, report.tallies, strict=True):
        after = 0
        while True:
            if limit_batches is not None and batches >= limit_batches:
                report.finished = False
                return report
            last = await _rotate_batch(sessions, column, ring, tally, after, batch_size)
            if last is None:
                break
            after = last
            batches += 1
            if on_batch is not None:
                on_batch(tally, last)
    return report


async def _rotate_batch(
    sessions: async_sessionmaker[AsyncSession],
    column: SealedColumn,
    ring: Sequence[bytes],
    tally: TableTally,
    after: int,
    batch_size: int,
) -> int | None:
    """Rotate the next batch of rows with an id above `after`, in one transaction; the
    batch's last id, or None when there are no more rows."""
    model_id = column.model.id
    query = (
        select(model_id, column.column, *column.reads)
        .where(column.holds_secret, model_id > after)
        .order_by(model_id)
        .limit(batch_size)
        # Held until the commit: a writer changing a row meanwhile waits, and is not undone.
        .with_for_update()
    )
    async with sessions() as session, session.begin():
        rows = (await session.execute(query)).all()
        if not rows:
            return None
        changes = []
        outcomes = []
        for row_id, sealed, *reads in rows:
            outcome, resealed = _reseal(ring, sealed, column.context(row_id, *reads))
            outcomes.append((outcome, row_id))
            if resealed is not None:
                changes.append({"id": row_id, column.column.key: resealed})
        if changes:
            await session.execute(update(column.model), changes)
    # Counted once committed: a batch that failed to commit changed nothing.
    for outcome, row_id in outcomes:
        tally.count(outcome, row_id)
    last: int = rows[-1][0]
    return last


def _reseal(
    ring: Sequence[bytes], sealed: object, context: str | None
) -> tuple[Outcome, str | None]:
    """What to do with one stored secret: (the outcome, its new ciphertext if it needs one)."""
    if not isinstance(sealed, str) or context is None:
        return Outcome.UNREADABLE, None
    current, *previous = ring
    try:
        decrypt_secret(current, sealed, context=context)
    except SecretDecryptionError:
        pass
    else:
        return Outcome.CURRENT, None
    try:
        plaintext = decrypt_secret_with_any(previous, sealed, context=context)
    except SecretDecryptionError:
        return Outcome.UNREADABLE, None
    # The plaintext as it was, byte for byte: no JSON round trip to reorder or reformat it.
    return Outcome.REENCRYPTED, encrypt_secret(current, plaintext, context=context)
