"""A family's earlier cases, as staff read them beside a new one (walk S-7: a mother back six
days after her case was closed read as a stranger, and Sari, who had served her, never heard):
named with when they were closed and by whom, in WIT, never with what they held."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot.casework import alerts, labels, staff
from bot.casework.staff import STAFF_LANGUAGE
from storage import caseviews, counselors
from storage.caseviews import Earlier
from storage.queue import CaseView

DATE = "%d-%m-%Y"  # "ditutup 01-12-2026": the day is what a counselor remembers


def named(case: Earlier, language: str = STAFF_LANGUAGE) -> str:
    """`LK3-2026-00001 (ditutup 01-12-2026, petugas Sari, distrik Kwamki Narama)`: where
    the family lived then, too (walk U-9: a returning family's P0 alert read "distrik
    belum diketahui" while its earlier case knew it)."""
    who = case.assignee or "-"
    where = {"distrik": labels.distrik(case.distrik, language)} if case.distrik else {}
    if case.closed_at is None:
        return staff.text("earlier_case.open" + (".distrik" if where else ""), language,
                          number=case.number, status=labels.status(case.status, language),
                          counselor=who, **where)
    return staff.text("earlier_case" + (".distrik" if where else ""), language,
                      number=case.number, closed=labels.wit(case.closed_at, DATE),
                      counselor=who, **where)


def line(conn: Connection, contact_id: int, case_id: int,
         language: str = STAFF_LANGUAGE) -> str:
    """The contact's cases before `case_id`, newest first, named; "" where there are none."""
    return "; ".join(named(c, language) for c in caseviews.earlier_cases(conn, contact_id,
                                                                         case_id))


def tell_counselor(conn: Connection, case: CaseView, roster: counselors.Roster,
                   now: datetime) -> None:
    """A new case of a family an earlier counselor served: she hears it, with the button to
    take it, unless the new-case alert reached her already (it names her case). The case is
    not held for her: the alert goes to those on duty as ever, and she may take it first."""
    last = next(iter(caseviews.earlier_cases(conn, case.contact_id, case.id)), None)
    if last is None or last.assignee_id is None or \
            last.assignee_id in alerts.recipients(roster, case.priority):
        return
    staff.say(conn, last.assignee_id, "earlier_family_back", now,
              case_id=case.id, choices=alerts.take_button(case.number), earlier=last.number,
              number=case.number, priority=case.priority, reasons=labels.reasons(case.reasons))
