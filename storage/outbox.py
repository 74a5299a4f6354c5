"""The outbox: replies committed with their state change, handed to senders in order.

Each recipient's replies form a line: only its oldest open row is handed out, so they
arrive in order. Among the heads, replies for a family with an open P0 case (and alerts
about one) come first: the priority lane. A relay leases what it takes with its own id
(`owner`, see bot.pipeline.lease); rows leased without one (before migration 0006) are free again
when their time lease (available_at) has run out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)

from storage import bulk, crypto
from storage.models import Case, OutboxMessage
from storage.subscriptions import PREFIX

T = cast(Table, OutboxMessage.__table__)
CASES = cast(Table, Case.__table__)
LEASE = timedelta(seconds=60)  # only for rows leased without an owner
OPEN = ("pending", "sending")
# A message to a family that must not be written to first (bot.pipeline.held): kept out of
# the line (never a head, never claimed, never expired) until the family writes again.
HELD = "held"
# The same, written into the SQL: only then can the database see that the open rows' partial
# index (ix_outbox_open_recipient) answers the head-of-line question.
OPEN_LITERAL: list[Any] = [literal_column(f"'{s}'") for s in OPEN]


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    recipient: str
    contact_id: int | None
    case_id: int | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime | None = None
    lane: int = 1  # LANE: 0 the priority lane (an open P0 case), 1 the rest, 2 broadcasts


def to(recipient: str) -> Any:
    """The condition for rows to this recipient, whichever data key sealed the address."""
    return T.c.recipient.in_(crypto.any_key(T.c.recipient, [recipient]))


def enqueue(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """Add replies; each row has channel, recipient, contact_id, case_id, payload, dedupe_key."""
    bulk.insert_rows(conn, T, new_rows(rows, now))


def new_rows(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The rows `enqueue` inserts for these replies."""
    return [{**r, "status": "pending", "attempts": 0, "available_at": now, "created_at": now}
            for r in rows]


def _p0(*where: Any) -> Any:
    return exists().where(CASES.c.priority == "P0", CASES.c.status != "closed", *where)


BROADCAST = T.c.dedupe_key.like(f"{PREFIX}%")  # an information broadcast's row
# 0: a family with an open P0 case, or a message about one; 1: the rest; 2: information
# broadcasts (dedupe key `bc:`, bot.broadcast), so replies to families never wait behind them
LANE = case((or_(_p0(CASES.c.id == T.c.case_id), _p0(CASES.c.contact_id == T.c.contact_id)),
             0), (BROADCAST, 2), else_=1)


# The claim's statements, built once: built anew at every claim they cost the relay more
# processor time than running them (lk3 bench --broadcast: a claim every few milliseconds
# while a broadcast sends). The head of a recipient's line: no open row before it.
_EARLIER = T.alias()
_HEAD = ~select(_EARLIER.c.id).where(
    _EARLIER.c.channel == T.c.channel, _EARLIER.c.recipient == T.c.recipient,
    _EARLIER.c.id < T.c.id, _EARLIER.c.status.in_(OPEN_LITERAL)).exists()
_DUE = and_(T.c.channel.in_(bindparam("channels", expanding=True)),
            T.c.available_at <= bindparam("now", type_=T.c.available_at.type),
            or_(T.c.status == "pending",
                and_(T.c.status == "sending", T.c.leased_by.is_(None))))
_LANE = LANE.label("lane")
_PICK = select(T.c.id, _LANE).where(_DUE, _HEAD).order_by(_LANE, T.c.id).limit(
    bindparam("limit"))
_PICK_LOCKED = _PICK.with_for_update(skip_locked=True, of=T)  # PostgreSQL
# the rows of one kind of relay: "replies" (lanes 0 and 1) or "broadcasts" (lane 2)
ONLY = {"replies": ~BROADCAST, "broadcasts": BROADCAST}
_PICKS: dict[tuple[str | None, bool], Select[Any]] = {
    (None, False): _PICK, (None, True): _PICK_LOCKED, **{
    (only, locked): (_PICK_LOCKED if locked else _PICK).where(rule)
    for only, rule in ONLY.items() for locked in (False, True)}}
_TAKE = update(T).where(T.c.id.in_(bindparam("ids", expanding=True)), _DUE).values(
    status="sending", available_at=bindparam("until", type_=T.c.available_at.type),
    attempts=T.c.attempts + 1, leased_by=bindparam("owner", type_=T.c.leased_by.type)
).returning(T.c.id, T.c.channel, T.c.recipient, T.c.contact_id, T.c.case_id, T.c.payload,
            T.c.attempts, T.c.created_at)


def claim_due(conn: Connection, now: datetime, channels: Iterable[str],
              limit: int = 50, recipient: str | None = None,
              owner: str | None = None, only: str | None = None) -> list[Outgoing]:
    """Lease the head message of each recipient that is due, priority lane first, then
    oldest first: one at a time per recipient keeps the order. `only`: heads of one kind,
    "replies" (not information broadcasts: lanes 0 and 1) or "broadcasts" (lane 2); the
    head is a recipient's oldest open row of any kind, so order holds between relays."""
    chosen = list(channels)
    if not chosen or limit < 1:
        return []
    pick = _PICKS[only, conn.dialect.name == "postgresql"]
    take = _TAKE
    if recipient is not None:
        pick, take = pick.where(to(recipient)), take.where(to(recipient))
    order = {r.id: (r.lane, n) for n, r in enumerate(conn.execute(
        pick, {"channels": chosen, "now": now, "limit": limit}))}
    if not order:
        return []
    rows = conn.execute(take, {"ids": list(order), "channels": chosen, "now": now,
                               "until": now + LEASE, "owner": owner})
    out = [Outgoing(**r._mapping, lane=order[r.id][0]) for r in rows]
    return sorted(out, key=lambda o: order[o.id][1])


def next_due(conn: Connection, now: datetime, channels: Iterable[str],
             only: str | None = None) -> datetime | None:
    """When the next row waiting on these channels falls due after `now` (a broadcast's
    next message, a retry), or None: a relay that found nothing due looks again then rather
    than after its whole poll interval (ix_outbox_due answers it)."""
    chosen = list(channels)
    if not chosen:
        return None
    found: datetime | None = conn.execute(select(func.min(T.c.available_at)).where(
        T.c.status == "pending", T.c.available_at > now, T.c.channel.in_(chosen),
        *([ONLY[only]] if only else []))).scalar()
    return found


def broadcasting(conn: Connection, soon: datetime, channels: Iterable[str]) -> set[str]:
    """The channels with an information broadcast's row open and due by `soon`: a
    broadcast sending there now (ix_outbox_due answers it)."""
    return set(conn.execute(select(T.c.channel).where(
        T.c.status.in_(OPEN), T.c.available_at <= soon, T.c.channel.in_(list(channels)),
        BROADCAST).distinct()).scalars())


def _mine(outbox_id: int, owner: str | None) -> Any:
    """The row, if `owner` still holds it (any holder when no owner is given)."""
    return and_(T.c.id == outbox_id, T.c.leased_by == owner) if owner is not None \
        else T.c.id == outbox_id


# mark_sent's statements, built once (the relay records every send with one)
_SENT = {"status": "sent", "last_error": None, "leased_by": None, **{
    c: bindparam(c, type_=T.c[c].type)
    for c in ("sent_at", "provider_message_id", "delivery_status", "delivery_updated_at")}}
_SENT_MINE = update(T).where(
    T.c.id == bindparam("row"), T.c.leased_by == bindparam("owner", type_=T.c.leased_by.type),
    T.c.status == "sending").values(_SENT)
_SENT_OPEN = update(T).where(T.c.id == bindparam("row"), T.c.status.in_(OPEN)).values(_SENT)


def mark_sent(conn: Connection, outbox_id: int, provider_message_id: str | None,
              now: datetime, delivery_status: str | None = None,
              owner: str | None = None) -> bool:
    """Record a send; False when the row had been handed to another relay meanwhile (it was
    sent all the same: an open row is marked, one already sent is left as it is)."""
    values = {"row": outbox_id, "sent_at": now, "provider_message_id": provider_message_id,
              "delivery_status": delivery_status, "delivery_updated_at": now}
    if owner is not None and conn.execute(
            _SENT_MINE, {**values, "owner": owner}).rowcount == 1:
        return True
    conn.execute(_SENT_OPEN, values)
    return owner is None


def retry_later(conn: Connection, outbox_id: int, when: datetime, error: str,
                owner: str | None = None) -> None:
    conn.execute(update(T).where(_mine(outbox_id, owner)).values(
        status="pending", available_at=when, last_error=error[:2000], leased_by=None))


def mark_failed(conn: Connection, outbox_id: int, error: str, status: str = "failed",
                code: str | None = None) -> None:
    """End a row that will not be sent: failed, or needs_template (outside WhatsApp's window)."""
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status=status, last_error=error[:2000], error_code=code, leased_by=None))


def reopen(conn: Connection, outbox_id: int, when: datetime, error: str, code: str) -> None:
    """Send a message the provider gave up on again at `when`, as new: its old provider id
    forgotten (late callbacks about that attempt find nothing), its delivery status cleared,
    its delivery deadline counted from `when` (`created_at`)."""
    conn.execute(update(T).where(T.c.id == outbox_id).values(
        status="pending", available_at=when, created_at=when, provider_message_id=None,
        sent_at=None,
        delivery_status=None, delivery_updated_at=None, last_error=error[:2000],
        error_code=code, leased_by=None))


def defer(conn: Connection, outbox_id: int, when: datetime, owner: str | None = None) -> None:
    """Put a leased row back until `when` without counting an attempt (rate limits)."""
    release(conn, [outbox_id], when, owner)


def release(conn: Connection, ids: list[int], when: datetime, owner: str | None = None) -> None:
    """Leased rows that were not tried back in line until `when`, no attempt counted."""
    if not ids:
        return
    mine = T.c.id.in_(ids) if owner is None else and_(T.c.id.in_(ids), T.c.leased_by == owner)
    conn.execute(update(T).where(mine, T.c.status == "sending").values(
        status="pending", available_at=when, attempts=T.c.attempts - 1, leased_by=None))


def waiting_since(conn: Connection, before: datetime, channels: Iterable[str],
                  recipient: str | None = None, limit: int = 500) -> list[Outgoing]:
    """Rows waiting in line (not being sent) that were made before `before`, oldest first:
    the ones a relay checks against their deadline."""
    query = select(
        T.c.id, T.c.channel, T.c.recipient, T.c.contact_id, T.c.case_id, T.c.payload,
        T.c.attempts, T.c.created_at).where(
        T.c.status == "pending", T.c.created_at < before, T.c.channel.in_(list(channels)))
    if recipient is not None:
        query = query.where(to(recipient))
    return [Outgoing(*r) for r in conn.execute(query.order_by(T.c.id).limit(limit))]


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


def held_ids(conn: Connection, contact_id: int) -> list[int]:
    """The contact's held rows, oldest first (the `status` index finds them)."""
    return [int(i) for (i,) in conn.execute(select(T.c.id).where(
        T.c.status == HELD, T.c.contact_id == contact_id).order_by(T.c.id))]


def held_staff_words(conn: Connection, case_id: int) -> bool:
    """Whether a counselor's own words to the family of a case wait for them to write (the
    rows staff write by hand carry `from_staff`; the few held rows are read, sealed)."""
    rows = conn.execute(select(T.c.payload).where(T.c.status == HELD, T.c.case_id == case_id))
    return any("from_staff" in (payload or {}) for (payload,) in rows)


def held_count(conn: Connection, case_id: int) -> int:
    """How many messages to the family of a case wait for them to write."""
    return int(conn.execute(select(func.count()).select_from(T).where(
        T.c.status == HELD, T.c.case_id == case_id)).scalar_one())


def held_counts(conn: Connection, case_ids: Iterable[int]) -> dict[int, int]:
    """`held_count` of each of these cases that has any, in one query."""
    ids = list(case_ids)
    if not ids:
        return {}
    return {int(c): int(n) for c, n in conn.execute(
        select(T.c.case_id, func.count()).where(T.c.status == HELD, T.c.case_id.in_(ids))
        .group_by(T.c.case_id))}


def backlog(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(T).where(T.c.status.in_(OPEN))).scalar_one())


def open_for(conn: Connection, channel: str, recipient: str) -> int:
    return int(conn.execute(select(func.count()).select_from(T).where(
        T.c.channel == channel, to(recipient), T.c.status.in_(OPEN))).scalar_one())


def sent_ids(conn: Connection, channel: str, recipient: str, before: int,
             since: datetime) -> list[str]:
    """The provider's ids of the messages sent to this recipient since `since`, from rows
    made before row `before`."""
    return [str(i) for (i,) in conn.execute(select(T.c.provider_message_id).where(
        T.c.channel == channel, to(recipient), T.c.id < before,
        T.c.status == "sent", T.c.sent_at >= since, T.c.provider_message_id.is_not(None)))]


def hold_sent(conn: Connection, provider_message_id: str) -> None:
    """Hold the rows sent under this provider id until the transaction ends (PostgreSQL), so
    two workers taking repeats of one delivery callback record it once."""
    conn.execute(select(T.c.id).where(T.c.provider_message_id == provider_message_id)
                 .with_for_update())


def sent_as(conn: Connection, provider_message_id: str) -> tuple[int, int | None, int | None]:
    """(id, contact_id, case_id) of the row sent under this provider id."""
    row = conn.execute(select(T.c.id, T.c.contact_id, T.c.case_id)
                       .where(T.c.provider_message_id == provider_message_id)).one()
    return int(row.id), row.contact_id, row.case_id
