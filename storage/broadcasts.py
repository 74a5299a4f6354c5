"""Broadcasts and their recipients: the snapshot, the claims that make a start and a send
happen once whatever the number of processes, and the counts a report shows."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, func, select, update

from storage import bulk
from storage.models import Broadcast, BroadcastRecipient, Contact, OutboxMessage

T = cast(Table, Broadcast.__table__)
R = cast(Table, BroadcastRecipient.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
CONTACTS = cast(Table, Contact.__table__)
RUNNING = ("sending",)
CHUNK = 2_000  # snapshot rows written a statement


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    status: str
    texts: dict[str, str]
    template_sid: str | None
    distrik: list[str]
    channels: list[str]
    scheduled_at: datetime | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    recipients: int
    paced_until: dict[str, str]


class Member(NamedTuple):
    """A recipient of the snapshot: who, where, in which language."""

    contact_id: int
    channel: str
    language: str


class Snapshot:
    """The recipients of a broadcast in the order they go, nine bytes each (an id and the
    number of its (channel, language)): a broadcast to 100,000 people must not cost a
    hundred times the memory of one to 1,000 (issue 18, `lk3 bench --broadcast`)."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.kinds = array("B")
        self.pairs: list[tuple[str, str]] = []  # (channel, language), few

    def add(self, contact_id: int, channel: str, language: str) -> None:
        pair = (channel, language)
        if pair not in self.pairs:
            self.pairs.append(pair)
        self.ids.append(contact_id)
        self.kinds.append(self.pairs.index(pair))

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Member]:
        for cid, kind in zip(self.ids, self.kinds, strict=True):
            yield Member(cid, *self.pairs[kind])


def create(conn: Connection, values: dict[str, Any], members: Snapshot) -> int:
    """The broadcast and its snapshot of recipients, in one transaction (the rows written
    CHUNK at a time)."""
    bid = bulk.insert_one(conn, T, {**values, "recipients": len(members), "paced_until": {}})
    people = iter(members)
    while part := list(islice(people, CHUNK)):
        bulk.insert_rows(conn, R, [{
            "broadcast_id": bid, "contact_id": m.contact_id, "channel": m.channel,
            "language": m.language, "status": "pending", "reason": None, "outbox_id": None,
            "queued_at": None} for m in part])
    return bid


def get(conn: Connection, bid: int, lock: bool = False) -> Row | None:
    """The broadcast; `lock`: held until the transaction ends (PostgreSQL), so two serving
    processes feeding it take turns and keep one pace between them."""
    query = select(*[T.c[f] for f in Row.__dataclass_fields__]).where(T.c.id == bid)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    r = conn.execute(query).one_or_none()
    return None if r is None else Row(**r._mapping)


def listing(conn: Connection, limit: int = 50) -> list[Row]:
    rows = conn.execute(select(*[T.c[f] for f in Row.__dataclass_fields__])
                        .order_by(T.c.id.desc()).limit(limit))
    return [Row(**r._mapping) for r in rows]


def start(conn: Connection, bid: int, now: datetime, due_only: bool = False) -> bool:
    """Draft or scheduled -> sending, by one conditional UPDATE: True for the one caller
    that made the change (two processes, one start). `due_only`: a schedule that is due."""
    where = [T.c.id == bid, T.c.status.in_(("scheduled",) if due_only else
                                           ("draft", "scheduled"))]
    if due_only:
        where.append(T.c.scheduled_at <= now)
    done = conn.execute(update(T).where(*where).values(status="sending", started_at=now))
    return done.rowcount == 1


def due(conn: Connection, now: datetime) -> list[int]:
    return [i for (i,) in conn.execute(select(T.c.id).where(
        T.c.status == "scheduled", T.c.scheduled_at <= now).order_by(T.c.scheduled_at))]


def running(conn: Connection) -> list[int]:
    return [i for (i,) in conn.execute(select(T.c.id).where(T.c.status.in_(RUNNING))
                                       .order_by(T.c.id))]


def set_pace(conn: Connection, bid: int, paced_until: dict[str, str]) -> None:
    conn.execute(update(T).where(T.c.id == bid).values(paced_until=paced_until))


def finish(conn: Connection, bid: int, now: datetime) -> bool:
    """Sending -> done once no recipient is left pending or deferred, and the relay has
    handed every queued message to its provider (or given up on it)."""
    left = select(R.c.id).where(R.c.broadcast_id == bid,
                                R.c.status.in_(("pending", "deferred"))).limit(1)
    if conn.execute(left).first() is not None:  # the first found, not all of them counted
        return False
    unsent = select(R.c.id).join(OUTBOX, OUTBOX.c.id == R.c.outbox_id).where(
        R.c.broadcast_id == bid, R.c.status == "queued",
        OUTBOX.c.status.in_(("pending", "sending"))).limit(1)
    if conn.execute(unsent).first() is not None:
        return False
    return conn.execute(update(T).where(T.c.id == bid, T.c.status == "sending").values(
        status="done", finished_at=now)).rowcount == 1


def cancel(conn: Connection, bid: int, now: datetime, status: str = "cancelled") -> int | None:
    """What is not yet handed to a provider will not go: recipients and their outbox rows
    still waiting are cancelled, the broadcast ends as `status` (cancelled; stopped when
    WhatsApp refused its template). None when the broadcast is already over."""
    if conn.execute(update(T).where(T.c.id == bid, T.c.status.in_(
            ("draft", "scheduled", "sending"))).values(status=status, finished_at=now)
                    ).rowcount != 1:
        return None
    waiting = select(R.c.outbox_id).where(R.c.broadcast_id == bid, R.c.status == "queued")
    conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(waiting), OUTBOX.c.status == "pending")
                 .values(status="cancelled", last_error="broadcast cancelled"))
    return int(conn.execute(update(R).where(
        R.c.broadcast_id == bid, R.c.status.in_(("pending", "deferred"))).values(
        status="cancelled")).rowcount or 0)


def channels(conn: Connection, bid: int) -> list[str]:
    """The channels the broadcast's recipients are on (its snapshot: they never change)."""
    return sorted(c for (c,) in conn.execute(select(R.c.channel).where(
        R.c.broadcast_id == bid).distinct()))


def take(conn: Connection, bid: int, channel: str, limit: int,
         statuses: tuple[str, ...] = ("pending",)) -> list[tuple[int, int, str, str]]:
    """Up to `limit` recipients not yet queued, oldest first: (id, contact, language,
    address). PostgreSQL: rows another process holds are passed over (it queues them)."""
    if limit < 1:
        return []
    query = select(R.c.id, R.c.contact_id, R.c.language, CONTACTS.c.provider_user_id
                   ).select_from(R.join(CONTACTS, CONTACTS.c.id == R.c.contact_id)).where(
        R.c.broadcast_id == bid, R.c.channel == channel, R.c.status.in_(statuses)
    ).order_by(R.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=R)
    return [(int(a), int(b), str(c), str(d)) for a, b, c, d in conn.execute(query)]


def mark(conn: Connection, ids: Sequence[int], status: str, reason: str | None) -> None:
    if ids:
        conn.execute(update(R).where(R.c.id.in_(list(ids)), R.c.status.in_(
            ("pending", "deferred"))).values(status=status, reason=reason))


def queue(conn: Connection, rows: Sequence[tuple[int, dict[str, Any]]], now: datetime) -> int:
    """Recipients (id, outbox row) handed to the outbox in this transaction: each outbox row
    carries the dedupe key of its (broadcast, contact), so none can be made twice."""
    if not rows:
        return 0
    bulk.insert_rows(conn, OUTBOX, [o for _, o in rows])
    keys = [o["dedupe_key"] for _, o in rows]
    made = dict(conn.execute(select(OUTBOX.c.dedupe_key, OUTBOX.c.id).where(
        OUTBOX.c.dedupe_key.in_(keys))).all())
    # one statement run for every row (executemany): the job holds the write lock for this,
    # and an UPDATE a row cost families' replies tens of ms (lk3 bench --broadcast)
    bulk.update_rows(conn, R, "id", [{
        "id": rid, "status": "queued", "outbox_id": made[o["dedupe_key"]], "queued_at": now,
        "reason": None} for rid, o in rows])
    return len(rows)


def of_outbox(conn: Connection, outbox_id: int) -> tuple[int, int, str | None] | None:
    """(recipient id, broadcast id, reason) of the recipient an outbox row was made for."""
    row = conn.execute(select(R.c.id, R.c.broadcast_id, R.c.reason).where(
        R.c.outbox_id == outbox_id)).one_or_none()
    return None if row is None else (int(row[0]), int(row[1]), row[2])


def set_reason(conn: Connection, rid: int, reason: str) -> None:
    conn.execute(update(R).where(R.c.id == rid).values(reason=reason))


def reached_since(conn: Connection, channel: str, since: datetime) -> tuple[int, datetime | None]:
    """Recipients queued on `channel` since `since` (every broadcast), and the earliest."""
    n, first = conn.execute(select(func.count(), func.min(R.c.queued_at)).where(
        R.c.channel == channel, R.c.queued_at > since)).one()
    return int(n), first


def recipient_rows(conn: Connection, bid: int) -> list[tuple[Any, ...]]:
    """Each recipient of the broadcast, in order, without an address: (contact id, channel,
    language, status, reason, queued at, outbox status, delivery status, its time)."""
    query = select(R.c.contact_id, R.c.channel, R.c.language, R.c.status, R.c.reason,
                   R.c.queued_at, OUTBOX.c.status, OUTBOX.c.delivery_status,
                   OUTBOX.c.delivery_updated_at).select_from(
        R.outerjoin(OUTBOX, OUTBOX.c.id == R.c.outbox_id)).where(
        R.c.broadcast_id == bid).order_by(R.c.id)
    return [tuple(r) for r in conn.execute(query)]


def counts(conn: Connection, bid: int) -> dict[tuple[str, str, str], int]:
    """(channel, state, reason) -> recipients; a queued one's state is `queued:` and its
    outbox row's (pending, sending, sent, delivered, read, failed, cancelled...)."""
    state = func.coalesce(OUTBOX.c.delivery_status, OUTBOX.c.status)
    query = select(R.c.channel, R.c.status, R.c.reason, state, func.count()).select_from(
        R.outerjoin(OUTBOX, OUTBOX.c.id == R.c.outbox_id)).where(
        R.c.broadcast_id == bid).group_by(R.c.channel, R.c.status, R.c.reason, state)
    out: dict[tuple[str, str, str], int] = {}
    for channel, status, reason, sent, n in conn.execute(query):
        key = (channel, status if status != "queued" else f"queued:{sent}", reason or "")
        out[key] = out.get(key, 0) + int(n)
    return out
