"""Cases, their numbers, consents, the audit trail and the message log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage import bulk
from storage.clock import maybe_utc, utc
from storage.models import (
    Case,
    CaseCounter,
    CaseEvent,
    ConsentRecord,
    InboxMessage,
    MessageLog,
)

CASES = cast(Table, Case.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
COUNTERS = cast(Table, CaseCounter.__table__)
PRIORITY_ORDER = ("P0", "P1", "P2", "P3")
WIT = timezone(timedelta(hours=9))
LOG = cast(Table, MessageLog.__table__)
_CONSENT = insert(cast(Table, ConsentRecord.__table__))


def _counter(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(COUNTERS).values(year=bindparam("year"), last=1)
    return stmt.on_conflict_do_update(index_elements=["year"],
                                      set_={"last": COUNTERS.c.last + 1}
                                      ).returning(COUNTERS.c.last)


_COUNTER = {name: _counter(name) for name in ("sqlite", "postgresql")}
_CREATE = insert(CASES).returning(CASES.c.id)


def next_number(conn: Connection, year: int) -> str:
    """`LK3-2026-00042`: a per-year counter, one row locked for the rest of the transaction."""
    last = conn.execute(_COUNTER[conn.dialect.name], {"year": year}).scalar_one()
    return f"LK3-{year}-{last:05d}"


def create(conn: Connection, *, contact_id: int, channel: str, data: dict[str, Any],
           now: datetime, previous_case_id: int | None = None) -> tuple[int, str]:
    number = next_number(conn, now.astimezone(WIT).year)  # the year as Mimika counts it
    case_id = conn.execute(_CREATE, {
        "number": number, "contact_id": contact_id, "status": data.get("status", "waiting"),
        "priority": data["priority"], "reasons": list(data["reasons"]),
        "category": data.get("category"), "distrik": data.get("distrik"), "channel": channel,
        "legal_basis": data["legal_basis"], "created_at": now, "updated_at": now,
        "previous_case_id": previous_case_id,
    }).scalar_one()
    return int(case_id), number


def raise_to(conn: Connection, case_id: int, data: dict[str, Any], now: datetime) -> str:
    """Update what the intake learned; priority only ever goes up, reasons accumulate.

    Returns the priority the case had before.
    """
    row = conn.execute(select(CASES.c.priority, CASES.c.reasons, CASES.c.legal_basis)
                       .where(CASES.c.id == case_id)).one()
    new = data["priority"]
    priority = min(row.priority, new, key=PRIORITY_ORDER.index)
    reasons = list(dict.fromkeys([*data["reasons"], *row.reasons]))
    basis = "consent" if "consent" in (row.legal_basis, data["legal_basis"]) else row.legal_basis
    values: dict[str, Any] = {"priority": priority, "reasons": reasons, "updated_at": now,
                              "legal_basis": basis}
    for key in ("category", "distrik"):
        if data.get(key) is not None:
            values[key] = data[key]
    conn.execute(update(CASES).where(CASES.c.id == case_id).values(**values))
    return str(row.priority)


def number_of(conn: Connection, case_id: int) -> str:
    return str(conn.execute(select(CASES.c.number).where(CASES.c.id == case_id)).scalar_one())


def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Audit rows: case_id, contact_id, actor, kind, data, created_at."""
    bulk.insert_rows(conn, EVENTS, rows)


def record_consent(conn: Connection, *, contact_id: int, data: dict[str, Any],
                   now: datetime) -> None:
    conn.execute(_CONSENT, {
        "contact_id": contact_id, "text_version": data["version"], "language": data["language"],
        "choice": data["choice"], "legal_basis": data["legal_basis"], "created_at": now})


def redact_contact(conn: Connection, contact_id: int, contact_key: str) -> None:
    """Consent refused and no case: keep counts, drop the words (UU PDP data minimisation)."""
    conn.execute(update(LOG).where(LOG.c.contact_id == contact_id, LOG.c.case_id.is_(None),
                                   LOG.c.direction == "in").values(text="", media=None))
    inbox_t = cast(Table, InboxMessage.__table__)
    conn.execute(update(inbox_t).where(inbox_t.c.contact_key == contact_key)
                 .values(payload={"redacted": True}))


def log_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows with the same keys: contact_id, case_id, inbox_id, direction, text, ..."""
    bulk.insert_rows(conn, LOG, rows)


@dataclass(frozen=True)
class CaseRow:
    number: str
    status: str
    priority: str
    reasons: list[str]
    category: str | None
    distrik: str | None
    channel: str
    created_at: datetime
    updated_at: datetime
    legal_basis: str


def list_cases(conn: Connection, status: str | None = None) -> list[CaseRow]:
    """The queue as a supervisor reads it: most urgent first, then longest waiting."""
    stmt = select(CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons,
                  CASES.c.category, CASES.c.distrik, CASES.c.channel, CASES.c.created_at,
                  CASES.c.updated_at, CASES.c.legal_basis)
    if status:
        stmt = stmt.where(CASES.c.status == status)
    stmt = stmt.order_by(CASES.c.priority, CASES.c.created_at, CASES.c.id)
    out = []
    for r in conn.execute(stmt):
        out.append(CaseRow(r.number, r.status, r.priority, list(r.reasons), r.category,
                           r.distrik, r.channel, utc(r.created_at), utc(r.updated_at),
                           r.legal_basis))
    return out


def events_of(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.id))
    return [{**r._mapping, "created_at": maybe_utc(r.created_at)} for r in rows]
