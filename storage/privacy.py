"""Data rights in the database: privacy requests, legal holds and who looked at a case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, update

from storage import bulk
from storage.clock import maybe_utc, utc
from storage.models import Case, CaseAccess, CaseHold, Contact, Conversation, PrivacyRequest

REQUESTS = cast(Table, PrivacyRequest.__table__)
HOLDS = cast(Table, CaseHold.__table__)
ACCESS = cast(Table, CaseAccess.__table__)
CASES = cast(Table, Case.__table__)
CONTACTS = cast(Table, Contact.__table__)
KINDS = ("data", "correct", "erase")


@dataclass(frozen=True)
class Request:
    """A privacy request as stored (times in UTC)."""

    id: int
    contact_id: int
    kind: str  # data | correct | erase
    status: str
    case_ids: list[int]
    language: str
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    reason: str | None
    alerts: int
    last_alert_at: datetime | None

    @property
    def label(self) -> str:
        """How staff name it: `P-12`."""
        return f"P-{self.id}"


def _request(r: Any) -> Request:
    return Request(int(r.id), int(r.contact_id), r.kind, r.status, list(r.case_ids or []),
                   r.language, utc(r.created_at), utc(r.due_at), maybe_utc(r.closed_at),
                   r.closed_by, r.reason, int(r.alerts), maybe_utc(r.last_alert_at))


def parse_label(text: str) -> int | None:
    """`P-12`, `p12` or `12` -> 12; anything else None."""
    raw = text.strip().upper().removeprefix("P").removeprefix("-")
    return int(raw) if raw.isdigit() else None


def case_ids_of(conn: Connection, contact_id: int) -> list[int]:
    return [int(i) for i in conn.execute(select(CASES.c.id).where(
        CASES.c.contact_id == contact_id).order_by(CASES.c.id)).scalars()]


def open_of(conn: Connection, contact_id: int, kind: str) -> Request | None:
    """The contact's open request of this kind, if one is still open."""
    row = conn.execute(select(REQUESTS).where(
        REQUESTS.c.contact_id == contact_id, REQUESTS.c.kind == kind,
        REQUESTS.c.status == "open")).first()
    return None if row is None else _request(row)


def create(conn: Connection, *, contact_id: int, kind: str, language: str, now: datetime,
           due_at: datetime) -> int:
    return bulk.insert_one(conn, REQUESTS, {
        "contact_id": contact_id, "kind": kind, "status": "open",
        "case_ids": case_ids_of(conn, contact_id), "language": language, "created_at": now,
        "due_at": due_at, "closed_at": None, "closed_by": None, "reason": None, "alerts": 0,
        "last_alert_at": None})


def get(conn: Connection, request_id: int, lock: bool = False) -> Request | None:
    stmt = select(REQUESTS).where(REQUESTS.c.id == request_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).one_or_none()
    return None if row is None else _request(row)


def listing(conn: Connection, statuses: Iterable[str]) -> list[Request]:
    """Requests in these states, the soonest due first."""
    rows = conn.execute(select(REQUESTS).where(REQUESTS.c.status.in_(list(statuses)))
                        .order_by(REQUESTS.c.due_at, REQUESTS.c.id))
    return [_request(r) for r in rows]


def due_for_alert(conn: Connection, before: datetime) -> list[int]:
    """Open requests due before `before` (by the open-requests index)."""
    return [int(i) for i in conn.execute(select(REQUESTS.c.id).where(
        REQUESTS.c.status == "open", REQUESTS.c.due_at <= before).order_by(REQUESTS.c.due_at))
        .scalars()]


def alerted(conn: Connection, request_id: int, now: datetime) -> None:
    conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(
        alerts=REQUESTS.c.alerts + 1, last_alert_at=now))


def close(conn: Connection, request_id: int, status: str, by: str, now: datetime,
          reason: str | None = None) -> None:
    conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(
        status=status, closed_by=by, closed_at=now, reason=reason))


def numbers(conn: Connection, case_ids: list[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    return {int(i): n for i, n in conn.execute(select(CASES.c.id, CASES.c.number).where(
        CASES.c.id.in_(case_ids)))}


def address(conn: Connection, contact_id: int) -> tuple[str, str, str]:
    """(channel, provider user id, status) of a contact."""
    row = conn.execute(select(CONTACTS.c.channel, CONTACTS.c.provider_user_id,
                              CONTACTS.c.status).where(CONTACTS.c.id == contact_id)).one()
    return row[0], row[1], row[2]


# -- legal holds --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hold:
    case_id: int
    number: str
    reason: str
    held_by: str
    created_at: datetime


def holds_on(conn: Connection, case_ids: list[int]) -> list[Hold]:
    """The holds in force on any of these cases."""
    if not case_ids:
        return []
    rows = conn.execute(select(HOLDS.c.case_id, CASES.c.number, HOLDS.c.reason,
                               HOLDS.c.held_by, HOLDS.c.created_at)
                        .join(CASES, CASES.c.id == HOLDS.c.case_id)
                        .where(HOLDS.c.case_id.in_(case_ids), HOLDS.c.released_at.is_(None))
                        .order_by(HOLDS.c.id))
    return [Hold(int(r[0]), r[1], r[2], r[3], utc(r[4])) for r in rows]


def hold(conn: Connection, case_id: int, reason: str, by: str, now: datetime) -> int:
    return bulk.insert_one(conn, HOLDS, {"case_id": case_id, "reason": reason, "held_by": by,
                                         "created_at": now, "released_at": None,
                                         "released_by": None})


def release(conn: Connection, case_id: int, by: str, now: datetime) -> int:
    return int(conn.execute(update(HOLDS).where(
        HOLDS.c.case_id == case_id, HOLDS.c.released_at.is_(None)).values(
        released_at=now, released_by=by)).rowcount)


def held_case_ids(conn: Connection) -> set[int]:
    return {int(i) for i in conn.execute(select(HOLDS.c.case_id).where(
        HOLDS.c.released_at.is_(None))).scalars()}


# -- who looked ---------------------------------------------------------------------------------

def record_access(conn: Connection, case_ids: Iterable[int], actor: str, via: str,
                  now: datetime, reason: str | None = None) -> None:
    bulk.insert_rows(conn, ACCESS, [{"case_id": c, "actor": actor, "via": via,
                                     "reason": reason, "created_at": now} for c in case_ids])


def last_reason(conn: Connection, case_id: int, actor: str, since: datetime) -> str | None:
    """The reason `actor` gave last for viewing this case, if given at `since` or later."""
    return conn.execute(select(ACCESS.c.reason).where(
        ACCESS.c.case_id == case_id, ACCESS.c.actor == actor, ACCESS.c.reason.is_not(None),
        ACCESS.c.created_at >= since).order_by(ACCESS.c.id.desc()).limit(1)).scalar()


def accesses(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(ACCESS.c.actor, ACCESS.c.via, ACCESS.c.reason,
                               ACCESS.c.created_at).where(ACCESS.c.case_id == case_id)
                        .order_by(ACCESS.c.id))
    return [{"actor": r.actor, "via": r.via, "reason": r.reason,
             "created_at": utc(r.created_at)} for r in rows]


def count_access(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ACCESS)).scalar_one())


# -- UBAH: an answer corrected --------------------------------------------------------------

def set_answer(conn: Connection, contact_id: int, key: str, value: str,
               case_column: bool) -> None:
    """The conversation's answer `key` replaced; on its case too when the case keeps it."""
    convs = cast(Table, Conversation.__table__)
    row = conn.execute(select(convs.c.id, convs.c.answers, convs.c.case_id).where(
        convs.c.contact_id == contact_id)).one()
    conn.execute(update(convs).where(convs.c.id == row.id).values(
        answers={**row.answers, key: value}))
    if case_column and row.case_id is not None:
        conn.execute(update(CASES).where(CASES.c.id == row.case_id).values({key: value}))


def requests_of(conn: Connection, contact_id: int) -> list[int]:
    return [int(i) for i in conn.execute(select(REQUESTS.c.id).where(
        REQUESTS.c.contact_id == contact_id)).scalars()]


def of_contact(conn: Connection, contact_id: int, statuses: Iterable[str]) -> list[Request]:
    """The contact's requests in these states, oldest first."""
    rows = conn.execute(select(REQUESTS).where(
        REQUESTS.c.contact_id == contact_id, REQUESTS.c.status.in_(list(statuses)))
        .order_by(REQUESTS.c.id))
    return [_request(r) for r in rows]


def reopen(conn: Connection, request_id: int, due_at: datetime) -> None:
    """A deferred request open again, due at `due_at`: its reminders start over (their
    count goes on, so each reminder's outbox key stays new)."""
    conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(
        status="open", due_at=due_at, closed_at=None, closed_by=None, reason=None,
        last_alert_at=None))
