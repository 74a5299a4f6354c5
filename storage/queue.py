"""The counselor queue: most urgent first, then longest waiting; claims are atomic.

PostgreSQL: the pick locks its row with FOR UPDATE SKIP LOCKED, so concurrent claimers take
different cases. SQLite: every transaction begins IMMEDIATE, so claims are serialised; the
UPDATE re-checks `status = 'waiting'` either way, so a case is never held twice.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    update,
)

from storage import bulk
from storage.clock import maybe_utc, utc
from storage.counselors import COUNSELORS, open_cases
from storage.models import Case

CASES = cast(Table, Case.__table__)
QUEUE_ORDER = (CASES.c.priority, CASES.c.created_at, CASES.c.id)
OPEN = ("waiting", "claimed")


@dataclass(frozen=True)
class CaseView:
    id: int
    number: str
    status: str
    priority: str
    reasons: list[str]
    category: str | None
    distrik: str | None
    channel: str
    contact_id: int
    assignee_id: int | None
    created_at: datetime
    claimed_at: datetime | None
    first_response_at: datetime | None
    last_alert_at: datetime | None
    alert_count: int
    flagged_at: datetime | None
    # a family waiting on the person who holds the case (bot.pipeline.heldwait)
    family_waiting_since: datetime | None = None
    danger_waiting_since: datetime | None = None
    wait_reminded_at: datetime | None = None
    wait_escalated_at: datetime | None = None


_VIEW = (CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons,
         CASES.c.category, CASES.c.distrik, CASES.c.channel, CASES.c.contact_id,
         CASES.c.assignee_id, CASES.c.created_at, CASES.c.claimed_at, CASES.c.first_response_at,
         CASES.c.last_alert_at, CASES.c.alert_count, CASES.c.flagged_at,
         CASES.c.family_waiting_since, CASES.c.danger_waiting_since, CASES.c.wait_reminded_at,
         CASES.c.wait_escalated_at)
# what nothing waiting on a held case's holder leaves (bot.pipeline.heldwait)
NOT_WAITING = {"family_waiting_since": None, "danger_waiting_since": None,
               "wait_reminded_at": None, "wait_escalated_at": None}


def _view(row: Any) -> CaseView:
    """A row of the `_VIEW` columns (a Core row or a plain tuple)."""
    return CaseView(row[0], row[1], row[2], row[3], list(row[4]), row[5], row[6], row[7],
                    row[8], row[9], utc(row[10]), maybe_utc(row[11]), maybe_utc(row[12]),
                    maybe_utc(row[13]), int(row[14] or 0), maybe_utc(row[15]),
                    *(maybe_utc(v) for v in row[16:20]))


_BY_ID = select(*_VIEW).where(CASES.c.id == bindparam("id"))


def new_view(case_id: int, number: str, contact_id: int, channel: str, data: dict[str, Any],
             now: datetime) -> CaseView:
    """The view of a case just created from `data`, without reading it back."""
    return CaseView(case_id, number, str(data.get("status", "waiting")), str(data["priority"]),
                    list(data["reasons"]), data.get("category"), data.get("distrik"), channel,
                    contact_id, None, now, None, None, None, 0, None)


def waiting(conn: Connection, limit: int = 10) -> list[CaseView]:
    rows = conn.execute(select(*_VIEW).where(CASES.c.status == "waiting")
                        .order_by(*QUEUE_ORDER).limit(limit))
    return [_view(r) for r in rows]


def by_number(conn: Connection, number: str) -> CaseView | None:
    row = conn.execute(select(*_VIEW).where(CASES.c.number == number.strip().upper())
                       ).one_or_none()
    return None if row is None else _view(row)


def by_id(conn: Connection, case_id: int) -> CaseView | None:
    """A case by id (the processor reads one when a waiting case becomes urgent: through
    the driver on SQLite, where Core's handling cost more than the query)."""
    rows = bulk.select_rows(conn, _BY_ID, {"id": case_id})
    return _view(rows[0]) if rows else None


def locked(conn: Connection, case_id: int) -> CaseView | None:
    """The case as committed now, its row held until this transaction ends (PostgreSQL: FOR
    UPDATE; SQLite: the write transaction, begun IMMEDIATE, holds the database)."""
    lock = select(CASES.c.id).where(CASES.c.id == case_id)
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()
    if conn.execute(lock).one_or_none() is None:
        return None
    return by_id(conn, case_id)


def held_by(conn: Connection, counselor_id: int) -> list[CaseView]:
    rows = conn.execute(select(*_VIEW).where(CASES.c.assignee_id == counselor_id,
                                             CASES.c.status == "claimed")
                        .order_by(*QUEUE_ORDER))
    return [_view(r) for r in rows]


def open_cases_of(conn: Connection, statuses: tuple[str, ...]) -> list[CaseView]:
    rows = conn.execute(select(*_VIEW).where(CASES.c.status.in_(statuses))
                        .order_by(*QUEUE_ORDER))
    return [_view(r) for r in rows]


@dataclass(frozen=True)
class Due:
    """Bounds the scheduler computes from the service hours for one moment (bot.casework.scheduler).

    `opened[p]`: a case of priority p opened (waiting) or claimed at or before it may be past
    its target. `again[p]`: a waiting case of priority p last alerted at or before it may be
    due to be alerted again (no entry: once per breach, so only a case never alerted since it
    last waited). `flagged`: a flagged case flagged at or before it may go back to the queue.
    """

    opened: Mapping[str, datetime]
    again: Mapping[str, datetime]
    flagged: datetime
    # a held case's family waiting since at or before it may be due to be told (and its
    # holder reminded); reminded at or before it, due to reach the supervisors
    waited: datetime | None = None
    reminded: datetime | None = None


def escalation_candidates(conn: Connection, due: Due) -> list[CaseView]:
    """The open cases the scheduler may have to act on, most urgent first: waiting cases past
    their target by the waiting-cases index, one range per priority, and claimed cases nobody
    has answered yet. A superset: the scheduler decides on each again, on the locked row.

    It relies on what the scheduler keeps true: on a waiting case `last_alert_at` is empty or
    at or after its deadline (alerts are made once a case is past it; a release empties it).
    """
    c = CASES.c
    found: list[CaseView] = []
    for priority, opened in due.opened.items():
        again = due.again.get(priority)  # never alerted since it waits; alerted long enough ago
        for alerted in (c.last_alert_at.is_(None),
                        *(() if again is None else (c.last_alert_at <= again,))):
            found += [_view(r) for r in conn.execute(select(*_VIEW).where(
                c.status == "waiting", c.priority == priority, alerted,
                c.created_at <= opened))]
    late = or_(false(), *(and_(c.priority == p, c.claimed_at <= opened)
                          for p, opened in due.opened.items()))
    found += [_view(r) for r in conn.execute(select(*_VIEW).where(
        c.status == "claimed", c.first_response_at.is_(None),
        or_(and_(c.flagged_at.is_(None), late), c.flagged_at <= due.flagged)))]
    seen = {v.id for v in found}
    found += [v for v in family_waiting(conn, due) if v.id not in seen]
    return sorted(found, key=lambda v: (v.priority, v.created_at, v.id))


def family_waiting(conn: Connection, due: Due) -> list[CaseView]:
    """Held cases whose family waits on the holder (by its partial index) and may be due:
    to be told and the holder reminded, or, their danger words or their wait past the
    bounds, to reach the supervisors. A superset, as above."""
    if due.waited is None or due.reminded is None:
        return []
    c = CASES.c
    danger = or_(false(), *(and_(c.priority == p, c.danger_waiting_since <= opened)
                            for p, opened in due.opened.items()))
    clauses = [and_(c.wait_reminded_at.is_(None), c.family_waiting_since <= due.waited),
               and_(c.wait_escalated_at.is_(None),
                    or_(c.wait_reminded_at <= due.reminded, danger))]
    if "P0" in due.opened and "P0" in due.again:  # danger now unanswered: paged again by
        # the P0 clock, whatever was told before (walk V-1)
        clauses.append(and_(c.priority == "P0", c.danger_waiting_since <= due.opened["P0"],
                            or_(c.last_alert_at.is_(None),
                                c.last_alert_at <= due.again["P0"])))
    return [_view(r) for r in conn.execute(select(*_VIEW).where(
        c.status == "claimed", c.family_waiting_since.is_not(None), or_(*clauses)))]


def listing(conn: Connection, stmt: Select[Any], statuses: Sequence[str],
            limit: int | None) -> list[Any]:
    """Rows of `stmt` (columns of the cases table, joined as the caller likes) for cases of
    these statuses: open ones in queue order (most urgent, then longest waiting), then closed
    ones, most recently closed first; at most `limit` (None: all). One ordered range per
    status, each at most `limit` long, so the time and memory follow `limit`, not the table
    (waiting cases by their index; the others by an index where there is one)."""
    c = CASES.c
    ranges = []
    for status in (s for s in OPEN if s in statuses):
        query = stmt.where(c.status == status).order_by(*QUEUE_ORDER)
        ranges.append(list(conn.execute(query if limit is None else query.limit(limit))))
    rows = list(heapq.merge(*ranges, key=lambda r: (r.priority, utc(r.created_at), r.id)))
    if "closed" in statuses and (limit is None or len(rows) < limit):
        query = stmt.where(c.status == "closed").order_by(c.closed_at.desc(), c.id.desc())
        rows += list(conn.execute(query if limit is None else query.limit(limit - len(rows))))
    return rows if limit is None else rows[:limit]


def count(conn: Connection, statuses: Sequence[str]) -> int:
    """How many cases have these statuses (one count per status: each by its index)."""
    return sum(int(conn.execute(select(func.count()).select_from(CASES)
                                .where(CASES.c.status == s)).scalar_one()) for s in statuses)


def waiting_at(conn: Connection, priority: str) -> int:
    """How many waiting cases have this priority (by the waiting-queue index)."""
    return int(conn.execute(select(func.count()).select_from(CASES).where(
        CASES.c.status == "waiting", CASES.c.priority == priority)).scalar_one())


def has_room(conn: Connection, counselor_id: int) -> bool:
    """Lock the counselor's row, then count: two claims by one person cannot both pass."""
    stmt = select(COUNSELORS.c.capacity).where(COUNSELORS.c.id == counselor_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    capacity = conn.execute(stmt).scalar_one()
    return open_cases(conn, counselor_id) < int(capacity)


def claim(conn: Connection, counselor_id: int, now: datetime,
          number: str | None = None) -> tuple[str, CaseView | None]:
    """Take the most urgent waiting case, or the one named: ("ok"|"full"|"gone", case)."""
    if not has_room(conn, counselor_id):
        return "full", None
    pick = select(CASES.c.id).where(CASES.c.status == "waiting")
    if number is not None:
        pick = pick.where(CASES.c.number == number.strip().upper())
    pick = pick.order_by(*QUEUE_ORDER).limit(1)
    if conn.dialect.name == "postgresql":  # the next case: past one a processor holds for
        # a moment; the case named: wait that moment (a review: "gone" for a P0 whose
        # family was writing)
        pick = pick.with_for_update(skip_locked=number is None)
    case_id = conn.execute(
        update(CASES).where(CASES.c.id == pick.scalar_subquery(), CASES.c.status == "waiting")
        .values(status="claimed", assignee_id=counselor_id, claimed_at=now, updated_at=now,
                flagged_at=None, **NOT_WAITING)
        .returning(CASES.c.id)).scalar_one_or_none()
    if case_id is None:
        return "gone", None
    return "ok", by_id(conn, int(case_id))


def release(conn: Connection, case_id: int, now: datetime) -> None:
    """Back to the queue, in its old place (waiting time counts from when it was opened)."""
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        status="waiting", assignee_id=None, claimed_at=None, updated_at=now, flagged_at=None,
        last_alert_at=None, alert_count=0, **NOT_WAITING))


def transfer(conn: Connection, case_id: int, to_counselor: int, now: datetime) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        assignee_id=to_counselor, claimed_at=now, updated_at=now, flagged_at=None))


def close(conn: Connection, case_id: int, outcome: str, now: datetime) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        status="closed", outcome=outcome, closed_at=now, updated_at=now))


def first_response(conn: Connection, case_id: int, now: datetime) -> None:
    """The first time a person answered the family: kept for reporting."""
    conn.execute(update(CASES).where(CASES.c.id == case_id,
                                     CASES.c.first_response_at.is_(None))
                 .values(first_response_at=now))


def mark_alerted(conn: Connection, case_id: int, now: datetime) -> None:
    """The scheduler alerted staff about a waiting case. Only once the case is past its
    deadline: `escalation_candidates` relies on it for P1-P3 (a P0 is paged again by time)."""
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        last_alert_at=now, alert_count=CASES.c.alert_count + 1))


def mark_flagged(conn: Connection, case_id: int, now: datetime) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(flagged_at=now))


def set_satisfaction(conn: Connection, case_id: int, score: int) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(satisfaction=score))
