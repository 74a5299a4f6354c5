"""The outbox: replies committed with their state change, handed to senders in order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, func, or_, select, update
from sqlalchemy.orm import aliased

from storage import bulk
from storage.models import OutboxMessage

T = cast(Table, OutboxMessage.__table__)
LEASE = timedelta(seconds=60)
OPEN = ("pending", "sending")


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    recipient: str
    contact_id: int | None
    case_id: int | None
    payload: dict[str, Any]
    attempts: int


def enqueue(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Add replies; each row has channel, recipient, contact_id, case_id, payload, dedupe_key."""
    bulk.insert_rows(conn, T, new_rows(rows, now))


def new_rows(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The rows `enqueue` inserts for these replies."""
    return [{**r, "status": "pending", "attempts": 0, "available_at": now, "created_at": now}
            for r in rows]


def claim_due(conn: Connection, now: datetime, channels: Iterable[str],
              limit: int = 50, recipient: str | None = None) -> list[Outgoing]:
    """Lease the head message of each recipient that is due: one at a time keeps the order."""
    earlier = aliased(OutboxMessage)
    due = and_(T.c.channel.in_(list(channels)), T.c.available_at <= now,
               or_(T.c.status == "pending", T.c.status == "sending"))
    head = ~select(earlier.id).where(
        earlier.channel == T.c.channel, earlier.recipient == T.c.recipient,
        earlier.id < T.c.id, earlier.status.in_(OPEN)).exists()
    if recipient is not None:
        due = and_(due, T.c.recipient == recipient)
    pick = select(T.c.id).where(due, head).order_by(T.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [r[0] for r in conn.execute(pick)]
    if not ids:
        return []
    rows = conn.execute(
        update(T).where(T.c.id.in_(ids), due)
        .values(status="sending", available_at=now + LEASE, attempts=T.c.attempts + 1)
        .returning(T.c.id, T.c.channel, T.c.recipient, T.c.contact_id, T.c.case_id,
                   T.c.payload, T.c.attempts))
    return sorted((Outgoing(*r) for r in rows), key=lambda o: o.id)


def mark_sent(conn: Connection, outbox_id: int, provider_message_id: str | None,
              now: datetime, delivery_status: str | None = None) -> None:
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status="sent", sent_at=now, provider_message_id=provider_message_id, last_error=None,
        delivery_status=delivery_status, delivery_updated_at=now))


def retry_later(conn: Connection, outbox_id: int, when: datetime, error: str) -> None:
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status="pending", available_at=when, last_error=error[:2000]))


def mark_failed(conn: Connection, outbox_id: int, error: str, status: str = "failed",
                code: str | None = None) -> None:
    """End a row that will not be sent: failed, or needs_template (outside WhatsApp's window)."""
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status=status, last_error=error[:2000], error_code=code))


def defer(conn: Connection, outbox_id: int, when: datetime) -> None:
    """Put a leased row back until `when` without counting an attempt (rate limits)."""
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status="pending", available_at=when, attempts=T.c.attempts - 1))


DELIVERY_ORDER = ("queued", "sent", "delivered", "read")
DELIVERY_FINAL = ("failed", "undelivered")


def record_delivery(conn: Connection, provider_message_id: str, status: str,
                    error_code: str | None, now: datetime) -> bool:
    """Move a sent message's delivery status forward only; a repeat or an older one is ignored."""
    row = conn.execute(select(T.c.id, T.c.delivery_status).where(
        T.c.provider_message_id == provider_message_id)).one_or_none()
    if row is None or not _forward(row.delivery_status, status):
        return False
    conn.execute(update(T).where(T.c.id == row.id).values(
        delivery_status=status, delivery_updated_at=now,
        error_code=error_code if status in DELIVERY_FINAL else None))
    return True


def _forward(current: str | None, new: str) -> bool:
    if current in DELIVERY_FINAL or current == new:
        return False
    if new in DELIVERY_FINAL or current is None:
        return new in DELIVERY_FINAL or new in DELIVERY_ORDER
    if new not in DELIVERY_ORDER:
        return False
    return current not in DELIVERY_ORDER or \
        DELIVERY_ORDER.index(new) > DELIVERY_ORDER.index(current)


def backlog(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(T).where(T.c.status.in_(OPEN))).scalar_one())


def open_for(conn: Connection, channel: str, recipient: str) -> int:
    return int(conn.execute(select(func.count()).select_from(T).where(
        T.c.channel == channel, T.c.recipient == recipient, T.c.status.in_(OPEN))).scalar_one())
