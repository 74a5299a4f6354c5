"""The counselor queue: most urgent first, then longest waiting; claims are atomic.

PostgreSQL: the pick locks its row with FOR UPDATE SKIP LOCKED, so concurrent claimers take
different cases. SQLite: every transaction begins IMMEDIATE, so claims are serialised; the
UPDATE re-checks `status = 'waiting'` either way, so a case is never held twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update

from storage import bulk
from storage.clock import maybe_utc, utc
from storage.counselors import COUNSELORS, open_cases
from storage.models import Case

CASES = cast(Table, Case.__table__)
QUEUE_ORDER = (CASES.c.priority, CASES.c.created_at, CASES.c.id)


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


_VIEW = (CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons,
         CASES.c.category, CASES.c.distrik, CASES.c.channel, CASES.c.contact_id,
         CASES.c.assignee_id, CASES.c.created_at, CASES.c.claimed_at, CASES.c.first_response_at,
         CASES.c.last_alert_at, CASES.c.alert_count, CASES.c.flagged_at)


def _view(row: Any) -> CaseView:
    """A row of the `_VIEW` columns (a Core row or a plain tuple)."""
    return CaseView(row[0], row[1], row[2], row[3], list(row[4]), row[5], row[6], row[7],
                    row[8], row[9], utc(row[10]), maybe_utc(row[11]), maybe_utc(row[12]),
                    maybe_utc(row[13]), int(row[14] or 0), maybe_utc(row[15]))


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


def held_by(conn: Connection, counselor_id: int) -> list[CaseView]:
    rows = conn.execute(select(*_VIEW).where(CASES.c.assignee_id == counselor_id,
                                             CASES.c.status == "claimed")
                        .order_by(*QUEUE_ORDER))
    return [_view(r) for r in rows]


def open_cases_of(conn: Connection, statuses: tuple[str, ...]) -> list[CaseView]:
    rows = conn.execute(select(*_VIEW).where(CASES.c.status.in_(statuses))
                        .order_by(*QUEUE_ORDER))
    return [_view(r) for r in rows]


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
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    case_id = conn.execute(
        update(CASES).where(CASES.c.id == pick.scalar_subquery(), CASES.c.status == "waiting")
        .values(status="claimed", assignee_id=counselor_id, claimed_at=now, updated_at=now,
                flagged_at=None)
        .returning(CASES.c.id)).scalar_one_or_none()
    if case_id is None:
        return "gone", None
    return "ok", by_id(conn, int(case_id))


def release(conn: Connection, case_id: int, now: datetime) -> None:
    """Back to the queue, in its old place (waiting time counts from when it was opened)."""
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        status="waiting", assignee_id=None, claimed_at=None, updated_at=now, flagged_at=None,
        last_alert_at=None, alert_count=0))


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
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(
        last_alert_at=now, alert_count=CASES.c.alert_count + 1))


def mark_flagged(conn: Connection, case_id: int, now: datetime) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(flagged_at=now))


def set_satisfaction(conn: Connection, case_id: int, score: int) -> None:
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(satisfaction=score))
