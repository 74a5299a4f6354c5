"""What the service does around a case as the intake changes it: tell staff, tell the family."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from bot import alerts, handoff, staff
from flows.catalog import Catalog
from flows.text import clean
from storage import cases, counselors, inbox, queue
from storage.queue import CaseView

if TYPE_CHECKING:
    from bot.apply import Conv, Writes

URGENT = ("P0", "P1")
# The flow's answers to safety words (DARURAT, BERHENTI, HAPUS, KELUAR): the counselor
# holding the case hears of them at once.
SAFETY_EVENTS = ("emergency", "stop", "privacy_request", "quick_exit")


def opened(conn: Connection, catalog: Catalog, case: CaseView, language: str, now: datetime,
           roster: counselors.Roster | None = None) -> str | None:
    """A new case: on-duty staff are alerted at once (P0/P1: supervisors too), whatever the
    hour. Returns the out-of-hours notice for the family, sent after this turn's replies."""
    alerts.announce(conn, case, now, roster=roster)
    return handoff.out_of_hours_notice(catalog, language, case.priority, now)


def raised(conn: Connection, conv: Conv, data: dict[str, Any], writes: Writes,
           now: datetime) -> bool:
    """The intake learned more (priority only goes up, reasons accumulate); a waiting case
    that became more urgent is announced again. Saved with the batch, unless announced."""
    assert conv.case_id is not None
    before = conv.triage or cases.triage_of(conn, conv.case_id)
    conv.triage = after = before.raised(data)
    values = {**writes.triage.pop(conv.case_id, {}), **after.values(now)}
    if after.priority == before.priority or after.priority not in URGENT \
            or conv.case_status != "waiting":
        writes.triage[conv.case_id] = values
        return after.priority != before.priority
    cases.save_triage(conn, [{"id": conv.case_id, **values}])  # the alert shows it as saved
    case = queue.by_id(conn, conv.case_id)
    assert case is not None
    alerts.announce(conn, case, now, key="raised", roster=writes.roster(conn))
    return True


def family_safety(conn: Connection, case_id: int | None, counselor_id: int,
                  msg: inbox.Pending, kind: str, now: datetime) -> None:
    """DARURAT, BERHENTI, HAPUS or KELUAR from a family a counselor holds: the counselor
    hears."""
    if case_id is None:
        return
    number = cases.number_of(conn, case_id)
    word = clean(str(msg.payload.get("text") or ""))[:40]
    key = {"emergency": "family_emergency", "quick_exit": "family_quick_exit"}.get(
        kind, "family_safety")
    staff.say(conn, counselor_id, key, now, case_id=case_id, number=number, word=word)
    if kind == "emergency":  # P0 pages the supervisors too, whoever holds the case
        for supervisor in counselors.roster(conn).supervisors:
            if supervisor != counselor_id:
                staff.say(conn, supervisor, key, now, case_id=case_id, number=number,
                          word=word)


def satisfaction(conn: Connection, case_id: int, score: int, now: datetime) -> None:
    """The family's 1-5 rating goes on the case, and to the counselor who closed it."""
    if not 1 <= score <= 5:
        return
    queue.set_satisfaction(conn, case_id, score)
    case = queue.by_id(conn, case_id)
    if case is not None and case.assignee_id is not None:
        staff.say(conn, case.assignee_id, "satisfaction_note", now, case_id=case_id,
                  number=case.number, score=score)
