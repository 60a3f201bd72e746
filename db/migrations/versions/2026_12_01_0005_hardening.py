"""Hardening: signed webhooks seen lately (replays are refused), secret parameters encrypted.

`webhook_delivery` holds each accepted signed webhook's signature for as long as a
signature that old is accepted, so a second delivery of it is refused in any API process.
`execution.secret_parameters` holds the values of an execution's secret parameters as one
AES-256-GCM ciphertext, while `execution.parameters` shows them masked. The rows written
before this revision are sealed here, which needs the encryption key: `attune migrate`
and `attune up` pass theirs (`db.migrate.upgrade(..., encryption_key=...)`); a database
holding plain secrets and no key given refuses the upgrade, naming the setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TIMESTAMP

# The stored format is versioned inside `attune.crypto`, so sealing through it stays right.
from attune.crypto import decrypt_secret, encrypt_secret

MASK = "********"
BATCH = 500
# The executions of actions with a secret parameter whose values are not masked yet.
PLAIN_SECRETS = sa.text(
    """
    SELECT e.id, e.parameters, a.parameters AS schema
    FROM attune.execution e JOIN attune.action a ON a.id = e.action_id
    WHERE e.id > :after
      AND jsonb_path_exists(a.parameters, '$.properties.* ? (@.secret == true)')
    ORDER BY e.id
    LIMIT :batch
    """
)
# Executions whose action is gone: nothing says which parameters were secret (the API shows
# them all masked), so all of them are sealed.
ORPHANED = sa.text(
    """
    SELECT id, parameters FROM attune.execution
    WHERE action_id IS NULL AND parameters <> '{}'::jsonb AND id > :after
    ORDER BY id
    LIMIT :batch
    """
)
SEALED = sa.text(
    "SELECT id, parameters, secret_parameters FROM attune.execution "
    "WHERE secret_parameters IS NOT NULL AND id > :after ORDER BY id LIMIT :batch"
)
SEAL = sa.text(
    "UPDATE attune.execution SET parameters = CAST(:parameters AS jsonb), "
    "secret_parameters = :sealed WHERE id = :id"
)
revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "attune"


def upgrade() -> None:
    op.add_column(
        "execution", sa.Column("secret_parameters", sa.Text(), nullable=True), schema=SCHEMA
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("trigger_id", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "created", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated", TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_delivery"),
        sa.UniqueConstraint(
            "trigger_id", "signature", name="uq_webhook_delivery_trigger_id_signature"
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            [f"{SCHEMA}.trigger.id"],
            name="fk_webhook_delivery_trigger_id_trigger",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_webhook_delivery_created", "webhook_delivery", ["created"], schema=SCHEMA)
    op.execute(
        f'CREATE TRIGGER "webhook_delivery_touch_updated" BEFORE UPDATE ON '
        f'{SCHEMA}."webhook_delivery" FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.touch_updated()'
    )
    _seal_stored_secrets()


def downgrade() -> None:
    _unseal_stored_secrets()
    op.drop_table("webhook_delivery", schema=SCHEMA)
    op.drop_column("execution", "secret_parameters", schema=SCHEMA)


def _seal_stored_secrets() -> None:
    """Mask the plain secret values already stored and keep them sealed beside."""
    key = _encryption_key()
    after = 0
    while rows := op.get_bind().execute(PLAIN_SECRETS, {"after": after, "batch": BATCH}).all():
        for execution_id, parameters, schema in rows:
            _seal(key, execution_id, parameters, _plain_secrets(parameters, schema))
        after = rows[-1][0]
    after = 0
    while rows := op.get_bind().execute(ORPHANED, {"after": after, "batch": BATCH}).all():
        for execution_id, parameters in rows:
            _seal(key, execution_id, parameters, dict(parameters))
        after = rows[-1][0]


def _seal(
    key: bytes | None, execution_id: int, parameters: dict[str, Any], values: dict[str, Any]
) -> None:
    if not values:
        return
    if key is None:
        raise RuntimeError(
            "executions hold secret parameters in plain text, and encrypting them "
            "needs the encryption key: set ATTUNE_ENCRYPTION_KEY and migrate again"
        )
    sealed = encrypt_secret(key, json.dumps(values), context=_context(execution_id))
    masked = {**parameters, **dict.fromkeys(values, MASK)}
    op.get_bind().execute(
        SEAL, {"parameters": json.dumps(masked), "sealed": sealed, "id": execution_id}
    )


def _context(execution_id: int) -> str:
    # As attune.engine.secret_parameters.secret_context: the id binds the ciphertext.
    return f"execution:{execution_id}"


def _unseal_stored_secrets() -> None:
    """Going back: put the sealed values into `parameters` again, or nothing would hold them."""
    connection = op.get_bind()
    key = _encryption_key()
    after = 0
    while rows := connection.execute(SEALED, {"after": after, "batch": BATCH}).all():
        if key is None:
            raise RuntimeError(
                "executions hold sealed secret parameters, and putting them back needs the "
                "encryption key: set ATTUNE_ENCRYPTION_KEY and downgrade again"
            )
        for execution_id, parameters, sealed in rows:
            values = json.loads(decrypt_secret(key, sealed, context=_context(execution_id)))
            connection.execute(
                SEAL,
                {
                    "parameters": json.dumps({**parameters, **values}),
                    "sealed": None,
                    "id": execution_id,
                },
            )
        after = rows[-1][0]


def _encryption_key() -> bytes | None:
    key: bytes | None = op.get_context().config.attributes.get("encryption_key")  # type: ignore[union-attr]
    return key


def _plain_secrets(parameters: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    return {
        name: value
        for name, value in parameters.items()
        if isinstance(properties.get(name), dict)
        and properties[name].get("secret") is True
        and value != MASK
    }
