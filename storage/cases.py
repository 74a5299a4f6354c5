"""Cases, their numbers, consents, the audit trail and the message log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql

from storage import bulk, inbox
from storage.clock import maybe_utc, utc
from storage.models import (
    Case,
    CaseCounter,
    CaseEvent,
    ConsentRecord,
    MessageLog,
    Referral,
)

CASES = cast(Table, Case.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
COUNTERS = cast(Table, CaseCounter.__table__)
PRIORITY_ORDER = ("P0", "P1", "P2", "P3")
WIT = timezone(timedelta(hours=9))
LOG = cast(Table, MessageLog.__table__)
# The intake's answers a case keeps, as columns of the same name (marked in the model);
# the flow names them in `case_answers` (checked at start: bot.flowfiles).
ANSWERS = tuple(c.name for c in CASES.columns if c.info.get("answer"))
CONSENTS = cast(Table, ConsentRecord.__table__)
REFERRALS = cast(Table, Referral.__table__)
INBOX = inbox.T
CONSENT_WITHDRAWN = "consent_withdrawn"  # a case's legal basis after BERHENTI


_COUNTER_PG = postgresql.insert(COUNTERS).values(year=bindparam("year"), last=1) \
    .on_conflict_do_update(index_elements=["year"], set_={"last": COUNTERS.c.last + 1}) \
    .returning(COUNTERS.c.last)
_COUNTER_SQLITE = ("INSERT INTO case_counters (year, last) VALUES (?, 1) ON CONFLICT (year) "
                   "DO UPDATE SET last = case_counters.last + 1 RETURNING last")


def next_number(conn: Connection, year: int) -> str:
    """`LK3-2026-00042`: a per-year counter, one row locked for the rest of the transaction."""
    if conn.dialect.name == "sqlite":  # through the driver: Core costs more than the insert
        last = bulk.execute(conn, _COUNTER_SQLITE, (year,))[0][0]
    else:
        last = conn.execute(_COUNTER_PG, {"year": year}).scalar_one()
    return f"LK3-{year}-{last:05d}"


def create(conn: Connection, *, contact_id: int, channel: str, data: dict[str, Any],
           now: datetime, previous_case_id: int | None = None,
           created_at: datetime | None = None) -> tuple[int, str]:
    """A new case; `created_at`: when its waiting began, if before `now` (an intake filed
    hours after her last message)."""
    number = next_number(conn, now.astimezone(WIT).year)  # the year as Mimika counts it
    case_id = bulk.insert_one(conn, CASES, {
        "number": number, "contact_id": contact_id, "status": data.get("status", "waiting"),
        "priority": data["priority"], "reasons": list(data["reasons"]), "channel": channel,
        **{name: data.get(name) for name in ANSWERS},
        "legal_basis": data["legal_basis"], "created_at": created_at or now,
        "updated_at": now, "previous_case_id": previous_case_id,
    })
    return case_id, number


@dataclass(frozen=True)
class Triage:
    """What the intake decides on a case: it only ever becomes more urgent; with the
    answers the case keeps (`ANSWERS`, in that order)."""

    priority: str
    reasons: tuple[str, ...]
    legal_basis: str
    answers: tuple[str | None, ...]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Triage:
        """A new case's, from the flow's case event."""
        return cls(data["priority"], tuple(data["reasons"]), data["legal_basis"],
                   tuple(_told(data, name, None) for name in ANSWERS))

    def raised(self, data: dict[str, Any]) -> Triage:
        """With what the intake learned: the higher priority, every reason once (newest
        first), consent kept once given, answers when told. `withdrawn`: reasons an answer
        the family took back had set ("4" meant "7": no "kekerasan seksual diungkapkan" on
        an old man's case); the priority stays, as ever."""
        basis = "consent" if "consent" in (self.legal_basis, data["legal_basis"]) \
            else self.legal_basis
        gone = set(data.get("withdrawn") or ())
        return Triage(min(self.priority, data["priority"], key=PRIORITY_ORDER.index),
                      tuple(r for r in dict.fromkeys([*data["reasons"], *self.reasons])
                            if r not in gone), basis,
                      tuple(_told(data, name, known)
                            for name, known in zip(ANSWERS, self.answers, strict=True)))

    def withdrawn(self) -> Triage:
        """Consent withdrawn (BERHENTI): the case keeps what it has only for safety; a later
        yes to consent gives it back its basis (`raised`)."""
        return Triage(self.priority, self.reasons, CONSENT_WITHDRAWN, self.answers)

    def values(self, now: datetime) -> dict[str, Any]:
        return {"priority": self.priority, "reasons": list(self.reasons),
                "legal_basis": self.legal_basis, **dict(zip(ANSWERS, self.answers, strict=True)),
                "updated_at": now}


def _told(data: dict[str, Any], key: str, known: str | None) -> str | None:
    return known if data.get(key) is None else str(data[key])


TRIAGE_COLUMNS = (CASES.c.priority, CASES.c.reasons, CASES.c.legal_basis,
                  *(CASES.c[name] for name in ANSWERS))


def triage_from(row: Sequence[Any]) -> Triage:
    """A Triage from the values of `TRIAGE_COLUMNS`, in order."""
    return Triage(row[0], tuple(row[1]), row[2], tuple(row[3:]))


def triage_of(conn: Connection, case_id: int) -> Triage:
    return triage_from(conn.execute(select(*TRIAGE_COLUMNS).where(CASES.c.id == case_id)).one())


def save_triage(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows of `Triage.values` with the case `id`, in one statement."""
    bulk.update_rows(conn, CASES, "id", rows)


def number_of(conn: Connection, case_id: int) -> str:
    return str(conn.execute(select(CASES.c.number).where(CASES.c.id == case_id)).scalar_one())


def redact_contact(conn: Connection, contact_id: int, contact_key: str) -> None:
    """Consent refused and no case: keep counts, drop the words (UU PDP data minimisation)."""
    conn.execute(update(LOG).where(LOG.c.contact_id == contact_id, LOG.c.case_id.is_(None),
                                   LOG.c.direction == "in").values(text="", media=None))
    conn.execute(update(INBOX).where(inbox.of_contact(contact_key))
                 .values(payload={"redacted": True}))


def staff_wrote_at(conn: Connection, contact_id: int, case_id: int) -> datetime | None:
    """When staff's own words to the family of a case were last written (the transcript's
    counselor lines; by the contact's index), or None."""
    return maybe_utc(conn.execute(select(func.max(LOG.c.created_at)).where(
        LOG.c.contact_id == contact_id, LOG.c.case_id == case_id, LOG.c.direction == "out",
        LOG.c.author.like("counselor:%"))).scalar())


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


def history(conn: Connection, case_id: int, contact_id: int, since: datetime | None,
            until: datetime | None) -> list[dict[str, Any]]:
    """The case's events, and its contact's events that belong to no case between `since`
    and `until` (None: no bound), such as danger words written before consent opened the
    case; in order."""
    caseless = [EVENTS.c.contact_id == contact_id, EVENTS.c.case_id.is_(None)]
    if since is not None:
        caseless.append(EVENTS.c.created_at >= since)
    if until is not None:
        caseless.append(EVENTS.c.created_at <= until)
    rows = conn.execute(select(EVENTS).where(or_(EVENTS.c.case_id == case_id,
                                                 and_(*caseless))).order_by(EVENTS.c.id))
    return [{**r._mapping, "created_at": maybe_utc(r.created_at)} for r in rows]


def closed_at(conn: Connection, case_id: int | None) -> datetime | None:
    """When a case was closed (None: open, or no such case)."""
    if case_id is None:
        return None
    return maybe_utc(conn.execute(select(CASES.c.closed_at).where(CASES.c.id == case_id))
                     .scalar_one_or_none())


def event_count(conn: Connection, case_id: int, actor: str) -> int:
    """How many audit events of this case this actor wrote."""
    return int(conn.execute(select(func.count()).select_from(EVENTS).where(
        EVENTS.c.case_id == case_id, EVENTS.c.actor == actor)).scalar_one())


def add_referral(conn: Connection, *, case_id: int, institution: str, reason: str,
                 legal_basis: str, counselor_id: int, now: datetime) -> None:
    """A case referred to an institution (flows/referrals.yaml), on this legal basis."""
    conn.execute(insert(REFERRALS).values(
        case_id=case_id, institution=institution, reason=reason, legal_basis=legal_basis,
        counselor_id=counselor_id, created_at=now))
