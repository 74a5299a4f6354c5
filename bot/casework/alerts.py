"""Alerts to staff: a new case to everyone on duty (and supervisors for P0/P1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot.casework import labels, staff
from flows.triage import URGENT
from storage import counselors
from storage.queue import CaseView


def take_button(number: str) -> list[dict[str, object]]:
    """An inline "Ambil" button; the number typed works as well (`/ambil NUMBER`)."""
    return [{"number": 1, "value": f"take:{number}", "label": staff.text("take_button",
                                                                         number=number)}]


def recipients(roster: counselors.Roster, priority: str) -> list[int]:
    """On-duty counselors; for P0/P1 every supervisor too, on duty or not; nobody on duty:
    supervisors."""
    ids = list(roster.on_duty)
    if priority in URGENT or not ids:
        ids += [c for c in roster.supervisors if c not in ids]
    return ids


def announce(conn: Connection, case: CaseView, now: datetime, key: str = "new_case",
             dedupe: str | None = None, roster: counselors.Roster | None = None,
             but: int | None = None, also: str = "", **extra: str) -> int:
    """Tell staff about a waiting case with a button to take it; returns how many were told.
    With nobody on duty the alert says so: whoever gets it must take or assign it. `but`:
    a counselor not to tell (who just released it); `also`: a line more (the family's earlier
    cases)."""
    told = 0
    roster = roster or counselors.roster(conn)
    body = staff.text(key, number=case.number, priority=case.priority,
                      reasons=labels.reasons(case.reasons),
                      distrik=labels.distrik_in_alert(case.distrik), **extra)
    if also:
        body = f"{body}\n{also}"
    if not roster.on_duty:
        body = f"{body}\n{staff.text('nobody_on_duty')}"
    for cid in (c for c in recipients(roster, case.priority) if c != but):
        dk = f"{dedupe}:{cid}" if dedupe else None
        told += staff.send(conn, cid, body, now, case_id=case.id,
                           choices=take_button(case.number), key=dk)
    return told
