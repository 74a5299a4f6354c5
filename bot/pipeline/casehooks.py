"""What the service does around a case as the intake changes it: tell staff, tell the family."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from bot.casework import alerts, heldwait, staff
from bot.pipeline import handoff
from bot.pipeline.apply import Notice
from flows.catalog import Catalog
from flows.text import clean
from flows.triage import URGENT
from storage import cases, counselors, inbox, queue
from storage.queue import CaseView

log = logging.getLogger(__name__)
PAGE_CHARS = 500  # a family's words on a page to staff: a whole story, not a whole chat
# The flow's answers to safety words and rights (DARURAT, BERHENTI, KELUAR, HAPUS, DATA,
# UBAH): the counselor holding the case hears of them at once.
SAFETY_EVENTS = ("emergency", "stop", "privacy_request", "quick_exit")


def opened(conn: Connection, catalog: Catalog, case: CaseView, language: str, now: datetime,
           roster: counselors.Roster | None = None, earlier: str = "") -> Notice | None:
    """A new case: on-duty staff are alerted at once (P0/P1: supervisors too), whatever the
    hour, told of the family's `earlier` cases where it had some. Returns the notice for the
    family (`opening_notice`)."""
    told = alerts.announce(conn, case, now, roster=roster, also=staff.text(
        "new_case.earlier", earlier=earlier) if earlier else "")  # the scheduler's alerts follow
    if not told:
        log.warning("case %s: the new-case alert reached nobody (no staff on duty or "
                    "reachable)", case.number)
    return opening_notice(catalog, language, case.priority, now, told)


def opening_notice(catalog: Catalog, language: str, priority: str, now: datetime,
                   told: int) -> Notice | None:
    """What the family hears in the turn that opened their case: an urgent case whose alert
    reached nobody (`told` staff), that it did not and the 24-hour numbers (the danger told
    first, as the turn is recorded: not "Polisi 110" first to one the police hurt), after the
    danger texts (they said staff were told) and before the question (walk O: after it, the
    question was no longer the last thing a frightened family saw); else, outside service
    hours, when to expect an answer. Never for a P2 or P3 case: its closing says when. Beside
    numbers the turn just gave, its short form ("hubungi nomor di atas"), inside the emergency
    text when that asks the question (walk O: a fourth list of numbers for a bullied boy)."""
    if not told and priority in URGENT:
        return Notice(catalog.text("alert_unsent", language), numbers=True,
                      short=catalog.text("alert_unsent.short", language))
    later = handoff.out_of_hours_notice(catalog, language, priority, now)
    if later is None:
        return None  # a walk-through: the 24-hour numbers twice in one turn, after a P1 text
    return Notice(later, hours=True, short=str(  # gave them (a case number, then a beating)
        handoff.out_of_hours_notice(catalog, language, priority, now, short=True)))


def family_safety(conn: Connection, case_id: int | None, counselor_id: int,
                  msg: inbox.Pending, kind: str, now: datetime) -> None:
    """DARURAT, BERHENTI, KELUAR or a data right from a family a counselor holds: the
    counselor hears."""
    if case_id is None:
        return
    number = cases.number_of(conn, case_id)
    word = quoted(clean(str(msg.payload.get("text") or "")))
    key = {"emergency": "family_emergency", "quick_exit": "family_quick_exit",
           "stop": "family_withdrew"}.get(kind, "family_safety")  # BERHENTI: consent withdrawn
    staff.say(conn, counselor_id, key, now, case_id=case_id, number=number, word=word)
    if kind == "emergency":  # P0 pages the supervisors too, whoever holds the case, and
        heldwait.danger_now(conn, case_id, now)  # again until staff write (walk V-1)
        for supervisor in counselors.roster(conn).supervisors:
            if supervisor != counselor_id:
                staff.say(conn, supervisor, key, now, case_id=case_id, number=number,
                          word=word)


def quoted(text: str) -> str:
    """The family's words for a page, whole up to PAGE_CHARS (a walk-through: cut at 40
    characters, "de bilang sa tra becus. trus paitua pula" left out the blow and the
    bleeding head the supervisor was paged for), else cut at a word."""
    if len(text) <= PAGE_CHARS:
        return text
    return text[:PAGE_CHARS].rsplit(" ", 1)[0] + " …"


def satisfaction(conn: Connection, case_id: int, score: int, now: datetime) -> None:
    """The family's 1-5 rating goes on the case, and to the counselor who closed it."""
    if not 1 <= score <= 5:
        return
    queue.set_satisfaction(conn, case_id, score)
    case = queue.by_id(conn, case_id)
    if case is not None and case.assignee_id is not None:
        staff.say(conn, case.assignee_id, "satisfaction_note", now, case_id=case_id,
                  number=case.number, score=score)
