"""The inbox: raw inbound messages stored before the provider is answered, processed once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    bindparam,
    column,
    func,
    select,
    update,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage import bulk, crypto
from storage.models import InboxMessage, MessageLog

T = cast(Table, InboxMessage.__table__)
LOG = cast(Table, MessageLog.__table__)


class Pending(NamedTuple):  # a row: a tuple is the cheapest to make, and immutable
    id: int
    channel: str
    sender: str
    contact_key: str
    provider_message_id: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


def _insert(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (dialect.insert(T)
            .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
            .returning(T.c.id))


_INSERT = {name: _insert(name) for name in ("sqlite", "postgresql")}



def store(conn: Connection, *, channel: str, provider_message_id: str, sender: str,
          payload: dict[str, Any], now: datetime) -> int | None:
    """Insert one inbound message; None when this provider message id was stored before.
    PostgreSQL: listeners on NOTIFY_CHANNEL hear of it when the transaction commits."""
    row = {"channel": channel, "provider_message_id": provider_message_id, "sender": sender,
           "contact_key": f"{channel}:{sender}", "payload": payload, "received_at": now,
           "attempts": 0}
    new = conn.execute(_INSERT[conn.dialect.name], row).scalar_one_or_none()
    if new is not None and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")
    return new


NOTIFY_CHANNEL = "lk3_inbox"


class Burst(NamedTuple):
    """Inbound messages ready to insert together (`burst`): encoded before the write lock."""

    rows: list[dict[str, Any]]
    now: datetime
    statements: list[tuple[str, tuple[Any, ...]]]  # SQLite: multi-row INSERTs, encoded


_BURST = ("channel", "provider_message_id", "sender", "contact_key", "payload")


def burst(rows: list[dict[str, Any]], now: datetime) -> Burst:
    """A burst (one getUpdates answer, a round of webhooks) made ready to store in one go:
    each row has channel, provider_message_id, sender and payload. The SQLite statements
    are encoded here, before the write lock is taken (`store_burst`)."""
    stamp = bulk.stored_time(now)
    _, _, sender, key, payload = bulk.converters(T, _BURST)  # sealed as their types seal
    statements = []
    for start in range(0, len(rows), 100):  # SQLite caps the parameters of one statement
        chunk = rows[start:start + 100]
        marks = ", ".join("(?, ?, ?, ?, ?, ?, 0)" for _ in chunk)
        params = tuple(v for r in chunk for v in (
            r["channel"], r["provider_message_id"], sender(r["sender"]),
            key(f"{r['channel']}:{r['sender']}"), payload(r["payload"]), stamp))
        statements.append((
            "INSERT INTO inbox (channel, provider_message_id, sender, contact_key, payload, "
            f"received_at, attempts) VALUES {marks} "
            "ON CONFLICT (channel, provider_message_id) DO NOTHING RETURNING id", params))
    return Burst(rows, now, statements)


def store_burst(conn: Connection, ready: Burst) -> list[int]:
    """Insert a burst, a row stored before skipped; the new rows' ids. SQLite: its
    multi-row INSERTs through the driver (SQLAlchemy's per-row parameter handling costs
    more than the insert itself)."""
    if conn.dialect.name != "sqlite":
        return [i for r in ready.rows if (i := store(conn, now=ready.now, **r)) is not None]
    return [int(x[0]) for sql, params in ready.statements
            for x in conn.exec_driver_sql(sql, params)]


def pending_contacts(conn: Connection, limit: int) -> list[str]:
    """Contacts with unprocessed messages, oldest message first (a contact's key is sealed
    with one key or, while a rotation runs, two: they group apart and are one here)."""
    oldest = (select(T.c.contact_key, func.min(T.c.id).label("first"))
              .where(T.c.processed_at.is_(None)).group_by(T.c.contact_key)
              .order_by(func.min(T.c.id)).limit(limit))
    return list(dict.fromkeys(row.contact_key for row in conn.execute(oldest)))


_PENDING = select(T.c.id, T.c.channel, T.c.sender, T.c.contact_key, T.c.provider_message_id,
                  T.c.payload, T.c.received_at, T.c.attempts).where(T.c.processed_at.is_(None))


def pending_for(conn: Connection, contact_key: str, limit: int = 50) -> list[Pending]:
    return pending_of(conn, [contact_key], limit)


def pending_of(conn: Connection, keys: list[str], limit: int) -> list[Pending]:
    """Unprocessed messages of these contacts, in arrival order (a prefix of each one's line)."""
    rows = conn.execute(_PENDING.where(T.c.contact_key.in_(crypto.any_key(T.c.contact_key, keys)))
                        .order_by(T.c.id).limit(limit))
    return [Pending(*row) for row in rows]


def of_contact(contact_key: str) -> Any:
    """The condition for this contact's inbox rows, whichever data key sealed them."""
    return T.c.contact_key.in_(crypto.any_key(T.c.contact_key, [contact_key]))


_MINE = func.lk3_shard(T.c.contact_key, bindparam("shards")) == bindparam("shard")
_PENDING_BATCH = _PENDING.order_by(T.c.id).limit(bindparam("limit"))
_PENDING_SHARD = _PENDING.where(_MINE).order_by(T.c.id).limit(bindparam("limit"))
_STILL_PENDING = select(T.c.id).where(T.c.processed_at.is_(None),
                                      T.c.id.in_(bindparam("ids", expanding=True)))


def pending_batch(conn: Connection, limit: int,
                  shard: tuple[int, int] | None = None) -> list[Pending]:
    """The oldest unprocessed messages of all contacts, in arrival order; with `shard`
    (index, count), only of the contacts that shard owns (SQLite, see `db.shard_of`)."""
    if shard is None:
        return [Pending(*r) for r in bulk.select_rows(conn, _PENDING_BATCH, {"limit": limit})]
    return [Pending(*r) for r in bulk.select_rows(
        conn, _PENDING_SHARD, {"limit": limit, "shard": shard[0], "shards": shard[1]})]


def still_pending(conn: Connection, ids: list[int]) -> set[int]:
    """Which of these messages nobody has processed yet."""
    return {r[0] for r in bulk.select_rows(conn, _STILL_PENDING, {"ids": ids})}


def mark_processed(conn: Connection, ids: list[int], now: datetime) -> None:
    bulk.update_rows(conn, T, "id", [{"processed_at": now, "id": i} for i in ids])


def redact(conn: Connection, ids: list[int]) -> None:
    """Drop the words of these messages (consent refused), keeping the rows for counting."""
    conn.execute(update(T).where(T.c.id.in_(ids)).values(payload={"redacted": True}))


def record_failure(conn: Connection, inbox_id: int, error: str, give_up: bool,
                   now: datetime) -> None:
    """Count a failed attempt; after too many the message is set aside (kept, not lost)."""
    values: dict[str, Any] = {"attempts": T.c.attempts + 1, "last_error": error[:2000]}
    if give_up:
        values["processed_at"] = now
    conn.execute(update(T).where(T.c.id == inbox_id).values(**values))


def backlog(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(T).where(T.c.processed_at.is_(None))).scalar_one())


def hold_contacts(conn: Connection, keys: list[str], limit: int) -> list[str]:
    """PostgreSQL: up to `limit` of these contacts, each now held by this transaction (an
    advisory lock released at its end); those another transaction holds are passed over."""
    if not keys:
        return []
    ids = {crypto.lock_id(key): key for key in keys}  # a keyed hash: no address to the server
    k = values(column("k", BigInteger), name="keys").data([(i,) for i in ids])
    return [ids[r[0]] for r in conn.execute(select(k.c.k).where(
        func.pg_try_advisory_xact_lock(k.c.k)).limit(limit))]


def payloads_up_to(conn: Connection, contact_id: int, inbox_id: int,
                   since: datetime) -> list[dict[str, Any]]:
    """The payloads of this contact's messages received since `since`, up to inbox row
    `inbox_id` (those the message log holds as theirs)."""
    theirs = select(LOG.c.inbox_id).where(
        LOG.c.contact_id == contact_id, LOG.c.direction == "in", LOG.c.inbox_id.is_not(None),
        LOG.c.inbox_id <= inbox_id)
    return [payload for (payload,) in conn.execute(select(T.c.payload).where(
        T.c.id.in_(theirs), T.c.received_at >= since))]
