"""Broadcast subscriptions: one consent record per contact and topic, ended by any opt-out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, and_, func, select, update

from storage import bulk
from storage.models import OutboxMessage, Subscription

T = cast(Table, Subscription.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
PREFIX = "bc:"  # dedupe keys of broadcast outbox rows: bc:<broadcast>:<contact>


def subscribe(conn: Connection, contact_id: int, topics: Iterable[str], *, version: str,
              language: str, source: str, now: datetime) -> list[str]:
    """A record per topic the contact is not subscribed to yet; the topics added."""
    have = set(active_topics(conn, contact_id))
    new = [t for t in dict.fromkeys(topics) if t not in have]
    bulk.insert_rows(conn, T, [{
        "contact_id": contact_id, "topic": t, "status": "active", "text_version": version,
        "language": language, "source": source, "opted_in_at": now, "opted_out_at": None,
        "opt_out_reason": None} for t in new])
    return new


def end_all(conn: Connection, contact_id: int, reason: str, now: datetime) -> int:
    """Every topic of the contact ended (BERHENTI, BERHENTI INFO, a provider's opt-out), and
    its broadcast messages not yet handed to a provider cancelled; how many topics ended."""
    ended = conn.execute(update(T).where(T.c.contact_id == contact_id, T.c.status == "active")
                         .values(status="ended", opted_out_at=now, opt_out_reason=reason))
    cancel_queued(conn, contact_id)
    return int(ended.rowcount or 0)


def cancel_queued(conn: Connection, contact_id: int) -> None:
    """The contact's broadcast messages still waiting in the outbox will not go."""
    conn.execute(update(OUTBOX).where(
        OUTBOX.c.contact_id == contact_id, OUTBOX.c.status == "pending",
        OUTBOX.c.dedupe_key.like(f"{PREFIX}%")).values(
        status="cancelled", last_error="opted out before sending"))


def active_topics(conn: Connection, contact_id: int) -> list[str]:
    return [t for (t,) in conn.execute(select(T.c.topic).where(
        T.c.contact_id == contact_id, T.c.status == "active").order_by(T.c.id))]


def counts(conn: Connection) -> dict[str, int]:
    """Active subscribers per topic."""
    return {t: int(n) for t, n in conn.execute(
        select(T.c.topic, func.count()).where(T.c.status == "active").group_by(T.c.topic))}


def subscribed_to(topic: str) -> object:
    """A WHERE clause part: the contact (`contacts.id` as given) has `topic` active."""
    return and_(T.c.topic == topic, T.c.status == "active")


def ended_between(conn: Connection, topic: str, start: datetime, end: datetime) -> int:
    """Subscriptions to `topic` ended between two instants (opt-outs a broadcast caused)."""
    return int(conn.execute(select(func.count()).select_from(T).where(
        T.c.topic == topic, T.c.opted_out_at >= start, T.c.opted_out_at <= end)).scalar_one())
