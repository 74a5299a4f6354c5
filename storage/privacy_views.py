"""Read models for a family's DATA copy: their messages, cases, consents, referrals and the
processing history, as plain values (times in UTC, ISO text)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, func, or_, select

from storage.clock import utc
from storage.models import (
    Case,
    CaseEvent,
    ConsentRecord,
    MessageLog,
    OutboxMessage,
    Referral,
    Subscription,
)

LOG = cast(Table, MessageLog.__table__)
CASES = cast(Table, Case.__table__)
CONSENTS = cast(Table, ConsentRecord.__table__)
SUBS = cast(Table, Subscription.__table__)
REFERRALS = cast(Table, Referral.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)


def messages(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(LOG.c.direction, LOG.c.author, LOG.c.text, LOG.c.created_at)
                        .where(LOG.c.contact_id == contact_id)
                        .order_by(LOG.c.created_at, LOG.c.id))
    return [{"direction": r.direction, "author": r.author, "text": r.text or "",
             "created_at": utc(r.created_at)} for r in rows]


def cases(conn: Connection, case_ids: list[int]) -> list[dict[str, Any]]:
    rows = conn.execute(select(CASES.c.number, CASES.c.priority, CASES.c.reasons,
                               CASES.c.created_at, CASES.c.status)
                        .where(CASES.c.id.in_(case_ids)).order_by(CASES.c.id))
    return [{"number": r.number, "priority": r.priority, "reasons": list(r.reasons),
             "opened": utc(r.created_at).isoformat(), "status": r.status} for r in rows]


def consents(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(CONSENTS).where(CONSENTS.c.contact_id == contact_id)
                        .order_by(CONSENTS.c.id))
    return [{"at": utc(r.created_at).isoformat(), "choice": r.choice,
             "version": r.text_version, "basis": r.legal_basis} for r in rows]


def subscriptions(conn: Connection, contact_id: int) -> list[dict[str, Any]]:
    """Their consents to information broadcasts, one per topic and time they subscribed."""
    rows = conn.execute(select(SUBS).where(SUBS.c.contact_id == contact_id)
                        .order_by(SUBS.c.id))
    return [{"topic": r.topic, "at": utc(r.opted_in_at).isoformat(), "source": r.source,
             "version": r.text_version, "ended": None if r.opted_out_at is None
             else utc(r.opted_out_at).isoformat()} for r in rows]


def referrals(conn: Connection, case_ids: list[int]) -> list[dict[str, Any]]:
    rows = conn.execute(select(REFERRALS.c.institution, REFERRALS.c.legal_basis,
                               REFERRALS.c.created_at)
                        .where(REFERRALS.c.case_id.in_(case_ids)).order_by(REFERRALS.c.id))
    return [{"at": utc(r.created_at).isoformat(), "institution": r.institution,
             "basis": r.legal_basis} for r in rows]


def history(conn: Connection, contact_id: int, case_ids: list[int]) -> list[dict[str, Any]]:
    """What was done with their data: when, what (an event kind), by whom in role terms."""
    rows = conn.execute(select(EVENTS.c.kind, EVENTS.c.actor, EVENTS.c.created_at).where(
        or_(EVENTS.c.contact_id == contact_id, EVENTS.c.case_id.in_(case_ids)))
        .order_by(EVENTS.c.id))
    return [{"at": utc(r.created_at).isoformat(), "kind": r.kind,
             "by": "staff" if str(r.actor).startswith(("counselor:", "cli:")) else "bot"}
            for r in rows]


def outbox_parts(conn: Connection, key: str) -> int:
    return int(conn.execute(select(func.count()).select_from(OUTBOX).where(
        or_(OUTBOX.c.dedupe_key == key, OUTBOX.c.dedupe_key.like(f"{key}:%")))).scalar_one())
