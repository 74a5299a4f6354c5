"""personal fields sealed (encryption at rest): words, answers, notes and addresses

Every value of the columns below is sealed with the newest data key (storage.crypto), in
batches; the downgrade opens them again. PostgreSQL enforces column types, so there the
columns become TEXT first (a sealed value is longer than the address it holds, and is not
JSON); SQLite never enforced them and keeps its declared types. The process running this
has installed its keys (LK3_DATA_KEYS or the key file, bot.service).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storage import crypto

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 500
KINDS: dict[str, type[crypto.Sealed] | type[crypto.SealedJSON] | type[crypto.Address]] = {
    "text": crypto.Sealed, "json": crypto.SealedJSON, "address": crypto.Address}
# table -> (column, kind, type before)
COLUMNS: dict[str, list[tuple[str, str, Any]]] = {
    "contacts": [("provider_user_id", "address", sa.String(length=100))],
    "counselor_accounts": [("provider_user_id", "address", sa.String(length=100))],
    "conversations": [("answers", "json", sa.JSON()), ("flags", "json", sa.JSON())],
    "inbox": [("contact_key", "address", sa.String(length=130)),
              ("sender", "address", sa.String(length=100)), ("payload", "json", sa.JSON())],
    "messages": [("text", "text", sa.Text()), ("media", "json", sa.JSON())],
    "outbox": [("recipient", "address", sa.String(length=100)),
               ("payload", "json", sa.JSON())],
    "case_events": [("data", "json", sa.JSON())],
    "referrals": [("reason", "text", sa.Text())],
    "case_holds": [("reason", "text", sa.Text())],
    "rejects": [("sender", "address", sa.String(length=100))],
}


def _types(name: str) -> dict[str, crypto._SealedType]:
    return {c: KINDS[kind](f"{name}.{c}") for c, kind, _ in COLUMNS[name]}


def _rewrite(name: str, sealing: bool) -> None:
    """Every value of the table's columns sealed with the newest key (or opened), batch by
    batch in id order."""
    conn = op.get_bind()
    types = _types(name)
    cols = ", ".join(types)
    last = 0
    while True:
        rows = conn.execute(sa.text(f"SELECT id, {cols} FROM {name} WHERE id > :last "
                                    f"ORDER BY id LIMIT {BATCH}"), {"last": last}).all()
        if not rows:
            return
        changed = []
        for row in rows:
            values = {c: row[n + 1] for n, c in enumerate(types)}
            new = {c: None if v is None else types[c].reseal(v, crypto.current().newest)
                   if sealing else types[c].opened(v) for c, v in values.items()}
            if new != values:
                changed.append({**new, "row_id": row[0]})
        if changed:
            sets = ", ".join(f"{c} = :{c}" for c in types)
            conn.execute(sa.text(f"UPDATE {name} SET {sets} WHERE id = :row_id"), changed)
        last = rows[-1][0]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for name, columns in COLUMNS.items():
        if _postgres():
            for col, _, before in columns:
                if not isinstance(before, sa.Text):
                    op.alter_column(name, col, type_=sa.Text(), existing_type=before,
                                    postgresql_using=f"{col}::text")
                if (name, col) == ("messages", "media"):  # JSON null meant no media too
                    op.execute(f"UPDATE {name} SET {col} = NULL WHERE {col} = 'null'")
        _rewrite(name, sealing=True)


def downgrade() -> None:
    for name, columns in COLUMNS.items():
        _rewrite(name, sealing=False)
        if _postgres():
            for col, _, before in columns:
                if isinstance(before, sa.Text):
                    continue
                cast_to = "json" if isinstance(before, sa.JSON) else f"varchar({before.length})"
                op.alter_column(name, col, type_=before, existing_type=sa.Text(),
                                postgresql_using=f"{col}::{cast_to}")
