"""What the supervisors' reports read: cases opened in a period, open cases now, and what
each staff member did in a period. Plain queries; the figures are computed by the reader
(bot.console.reports). No identities: no contact, no names of families, no free text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from storage.cases import CASES, EVENTS
from storage.clock import maybe_utc, utc
from storage.counselors import COUNSELORS


@dataclass(frozen=True)
class CaseFacts:
    """A case as the reports count it (times in UTC)."""

    number: str
    status: str
    priority: str
    reasons: list[str]
    category: str | None
    distrik: str | None
    channel: str
    created_at: datetime
    claimed_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    satisfaction: int | None


_FACTS = (CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons, CASES.c.category,
          CASES.c.distrik, CASES.c.channel, CASES.c.created_at, CASES.c.claimed_at,
          CASES.c.first_response_at, CASES.c.closed_at, CASES.c.outcome, CASES.c.satisfaction)


def _facts(row: Any) -> CaseFacts:
    return CaseFacts(row.number, row.status, row.priority, list(row.reasons or []),
                     row.category, row.distrik, row.channel, utc(row.created_at),
                     maybe_utc(row.claimed_at), maybe_utc(row.first_response_at),
                     maybe_utc(row.closed_at), row.outcome,
                     None if row.satisfaction is None else int(row.satisfaction))


def cases_opened(conn: Connection, start: datetime, end: datetime) -> list[CaseFacts]:
    """Cases that entered the queue in [start, end), oldest first."""
    rows = conn.execute(select(*_FACTS).where(CASES.c.created_at >= start,
                                              CASES.c.created_at < end)
                        .order_by(CASES.c.created_at, CASES.c.id))
    return [_facts(r) for r in rows]


def open_cases(conn: Connection) -> list[CaseFacts]:
    """Every case waiting or held now, whenever it was opened."""
    rows = conn.execute(select(*_FACTS).where(CASES.c.status.in_(("waiting", "claimed")))
                        .order_by(CASES.c.priority, CASES.c.created_at))
    return [_facts(r) for r in rows]


@dataclass(frozen=True)
class Workload:
    counselor_id: int
    name: str
    role: str
    holding: int  # open cases held now
    done: dict[str, int]  # audit event kind -> how many in the period (claim, message, close...)


def workload(conn: Connection, start: datetime, end: datetime,
             kinds: tuple[str, ...]) -> list[Workload]:
    """Per staff member not removed: cases held now, and their audit events of these kinds
    in [start, end)."""
    held: dict[int, int] = {int(cid): int(n) for cid, n in conn.execute(
        select(CASES.c.assignee_id, func.count()).where(CASES.c.status == "claimed")
        .group_by(CASES.c.assignee_id)) if cid is not None}
    counts: dict[tuple[str, str], int] = {
        (str(actor), str(kind)): int(n) for actor, kind, n in conn.execute(
            select(EVENTS.c.actor, EVENTS.c.kind, func.count())
            .where(EVENTS.c.created_at >= start, EVENTS.c.created_at < end,
                   EVENTS.c.kind.in_(kinds), EVENTS.c.actor.like("counselor:%"))
            .group_by(EVENTS.c.actor, EVENTS.c.kind))}
    people = conn.execute(select(COUNSELORS.c.id, COUNSELORS.c.name, COUNSELORS.c.role)
                          .where(COUNSELORS.c.removed_at.is_(None)).order_by(COUNSELORS.c.name))
    return [Workload(int(p.id), str(p.name), str(p.role), int(held.get(p.id, 0)),
                     {k: counts.get((f"counselor:{p.id}", k), 0) for k in kinds})
            for p in people]
