"""Deadlines that act: overdue re-announcements, P0 re-alerts, no-response flags and returns,
and families waiting on the person who holds their case (bot.casework.heldwait).

A run first finds the cases that may be due, outside any write lock (a read-only transaction:
on SQLite it holds no lock writers wait for) and by index: from the service hours it works out,
per priority, the latest opening time that is past its target now and the latest alert that is
due again (`queue.Due`), and reads only the waiting cases in those ranges, the claimed cases
nobody has answered, and the claimed cases whose family's message waits past its bounds. It
then does at most one thing per due case, each in its own short transaction with the case row
locked (PostgreSQL: FOR UPDATE; SQLite: every write transaction
is IMMEDIATE) and the decision taken again on the locked row, so a counselor's claim or another
scheduler process that got there first wins. So the write lock is held for one case's action
at a time however many cases are open (measured with `python -m bot.bench.growthbench`).

Outbox dedupe keys come from the case's scheduler history (`sched:<case>:<n>:...`, n = scheduler
events so far): a racing process that read the same state fails on the unique key, and its whole
transaction for that case rolls back.
Every action is a case event with actor 'scheduler'; a second run at the same `now` does nothing.
A P0 re-alert may tell the family too (bot.casework.p0family): one more event, in the same
transaction; so may a held case's (danger now nobody has answered: bot.casework.heldwait).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.casework import caseops, heldwait, intakeview, labels, p0family, staff
from bot.casework.alerts import take_button
from bot.pipeline import lapse
from bot.privacy import deadlines
from bot.privacy.provider import Deleter
from flows.actions import ACTIONS, FLAGS
from flows.catalog import Catalog
from flows.engine import Engine as FlowEngine
from flows.hours import PRIORITIES, ServiceHours, service_hours
from flows.loader import Bundle, load_bundle
from flows.triage import URGENT
from storage import cases, counselors, outbox, queue
from storage.db import reading
from storage.queue import CaseView
from storage.rows import EventRow, write_rows

log = logging.getLogger(__name__)

ACTOR = "scheduler"
# A claimed case nobody answered: flagged, then returned; not while the counselor's words
# wait for a family who must write first (they are the first response once they go out)
UNANSWERED = ("no_response_flag", "returned_to_queue")


class Scheduler:
    """Escalate waiting and unanswered cases by the deadlines in flows/service.yaml."""

    def __init__(self, db: Engine, clock: Callable[[], datetime],
                 hours: ServiceHours | None = None, bundle: Bundle | None = None,
                 deleter: Deleter | None = None, flows: FlowEngine | None = None) -> None:
        self.db, self.clock = db, clock
        self.flows = flows  # the intake's engine, for intakes left half-way (bot.pipeline.lapse)
        self.hours = hours or service_hours()
        self.bundle = bundle  # the family's texts and numbers (default: the intake's)
        self.deleter = deleter  # the provider's copies of erased messages (None: kept)

    def run_once(self) -> int:
        """Act on every case that is due now; returns how many actions were taken."""
        now = self.clock()
        bounds = self.bounds(now)
        with reading(self.db) as conn:
            due = [c.id for c in queue.escalation_candidates(conn, bounds)
                   if self.due(c, now)]
        if due:  # texts and the family's numbers read now, not under the write lock
            self.bundle = self.bundle or intake_bundle()
            intakeview.warm()
        acted = sum(self._act(case_id, now) for case_id in due)  # first: the alerts never
        # wait on the jobs below (walk V-2: a data-rights job failing on every run stopped
        # the P0 re-alerts with it)
        try:
            deadlines.run(self.db, now, self.deleter)  # data rights (bot.privacy.deadlines)
        except Exception:
            log.exception("scheduler: the data-rights job failed; case alerts went on")
        return acted + self._file_lapsed(now)

    def _file_lapsed(self, now: datetime) -> int:
        """Intakes left half-way with consent and a category, filed as cases for staff
        (walk S-6), each in its own short transaction; the family is not written to."""
        flows = self.flows = self.flows or FlowEngine(self.bundle or intake_bundle())
        with reading(self.db) as conn:
            due = lapse.candidates(conn, flows, self.hours, now)
        filed = 0
        for contact_id in due:
            with self.db.begin() as conn:
                number = lapse.file(conn, flows, self.hours, contact_id, now)
            if number is not None:
                log.info("intake left half-way filed as case %s", number)
                filed += 1
        return filed

    def bounds(self, now: datetime) -> queue.Due:
        """Which open cases may be due at `now` (see `due`), as ranges an index can read."""
        hours = self.hours
        opened = {p: latest(partial(hours.deadline, p), now) for p in PRIORITIES}
        again = {"P0": now - hours.p0_realert,
                 "P1": latest(lambda t: hours.add_service_minutes(t, hours.p1_realert_minutes),
                              now)}
        reminded = latest(partial(heldwait.supervisors_by, hours), now)
        return queue.Due(opened, again, now - hours.return_after, now - hours.held_wait,
                         reminded)

    def due(self, case: CaseView, now: datetime) -> str | None:
        """The action this case needs at `now`, if any (an event kind)."""
        if case.status == "waiting":
            deadline = self.hours.deadline(case.priority, case.created_at)
            if now < deadline:
                return None
            if case.priority == "P0":
                last = case.last_alert_at
                return "p0_realert" if last is None or now - last >= self.hours.p0_realert \
                    else None
            # once per breach: an alert before the deadline (the new-case page) does not count
            last = case.last_alert_at
            if last is None or last < deadline:
                return "overdue_alert"
            if case.priority == "P1":  # never waits silently: again every so much service time
                again = self.hours.add_service_minutes(last, self.hours.p1_realert_minutes)
                return "overdue_alert" if now >= again else None
            return None
        if case.status != "claimed":
            return None
        if case.first_response_at is None and case.claimed_at is not None:
            kind = self._unanswered(case, case.claimed_at, now)
            if kind is not None:
                return kind
        return heldwait.due(self.hours, case, now)  # a family waiting on its holder

    def _unanswered(self, case: CaseView, claimed_at: datetime, now: datetime) -> str | None:
        """A claimed case nobody has written to the family of: flagged, then returned."""
        if case.flagged_at is None:
            deadline = self.hours.deadline(case.priority, claimed_at)
            return "no_response_flag" if now >= deadline else None
        return "returned_to_queue" if now - case.flagged_at >= self.hours.return_after else None

    def _act(self, case_id: int, now: datetime) -> int:
        try:
            with self.db.begin() as conn:
                case = queue.locked(conn, case_id)
                kind = None if case is None else self.due(case, now)
                if case is None or kind is None:
                    return 0  # claimed, answered or handled by someone else meanwhile
                if kind in UNANSWERED and outbox.held_staff_words(conn, case.id) and (
                        kind == "returned_to_queue" or case.priority not in URGENT):
                    return 0  # the counselor wrote; the family must write first (S-13); an
                    # urgent case is still flagged to a supervisor (Never 10: a review)
                # the sequence number of this case's next scheduler action
                key = f"sched:{case.id}:{cases.event_count(conn, case.id, ACTOR)}"
                data = heldwait.act(conn, kind, case, now, key, self.bundle or intake_bundle(),
                                    self.hours) if kind in heldwait.KINDS \
                    else self._do(conn, kind, case, now, key)
                done = [(kind, data)]
                if kind in ("p0_realert", heldwait.P0_AGAIN) and \
                        (family := self._family(conn, case, now, key)):
                    done.append((p0family.KIND, family))
                write_rows(conn, [EventRow(case.id, case.contact_id, ACTOR, k, d, now)
                                  for k, d in done])
        except IntegrityError:
            log.warning("case %s: another scheduler acted first; rolled back", case_id)
            return 0
        if not data["told"]:
            log.warning("case %s: %s reached nobody (no staff on duty or reachable)",
                        case_id, kind)
        return 1

    def _family(self, conn: Connection, case: CaseView, now: datetime,
                key: str) -> dict[str, Any] | None:
        """The family of a P0 nobody took hears it, at most every so often
        (bot.casework.p0family)."""
        return p0family.update(conn, case, cases.events_of(conn, case.id),
                               self.bundle or intake_bundle(), now,
                               self.hours.p0_family_update, key)

    def _do(self, conn: Connection, kind: str, case: CaseView, now: datetime,
            key: str) -> dict[str, Any]:
        if kind == "p0_realert":
            told = _page(conn, case, now, "p0_realert", key)
            queue.mark_alerted(conn, case.id, now)
            return _data(case, self.hours.deadline(case.priority, case.created_at), told,
                         alert=case.alert_count + 1)
        if kind == "overdue_alert":
            told = _page(conn, case, now, "overdue", key)
            queue.mark_alerted(conn, case.id, now)
            return _data(case, self.hours.deadline(case.priority, case.created_at), told)
        assert case.claimed_at is not None and case.assignee_id is not None
        deadline = self.hours.deadline(case.priority, case.claimed_at)
        if kind == "no_response_flag":
            return _data(case, deadline, _flag(conn, case, now, key),
                         counselor_id=case.assignee_id)
        catalog = (self.bundle or intake_bundle()).catalog
        return _data(case, deadline, _return(conn, case, now, key, catalog),
                     counselor_id=case.assignee_id)


@cache
def intake_bundle() -> Bundle:
    """The intake's texts and emergency directory, for a scheduler not given them."""
    return load_bundle("intake", ACTIONS, FLAGS)


def latest(deadline: Callable[[datetime], datetime], now: datetime,
           within: timedelta = timedelta(seconds=1)) -> datetime:
    """A moment no earlier than every `t` with `deadline(t) <= now` (and at most `within`
    later than the last of them), for a `deadline` that never decreases and is never before
    its argument: a bisection over the days before `now`."""
    lo = now - timedelta(days=1)
    while deadline(lo) > now:
        if now - lo > timedelta(days=3660):
            return lo  # nothing in ten years: whatever is older may be
        lo -= now - lo
    hi = now
    if deadline(hi) <= now:
        return hi
    while hi - lo > within:
        mid = lo + (hi - lo) / 2
        if deadline(mid) <= now:
            lo = mid
        else:
            hi = mid
    return hi


def _data(case: CaseView, deadline: datetime, told: list[int], **extra: int) -> dict[str, Any]:
    return {"priority": case.priority, "deadline": deadline.isoformat(), "told": told, **extra}


def _staff(conn: Connection, skip: int | None = None) -> list[int]:
    """Everyone on duty and every supervisor, once each."""
    ids = [c.id for c in counselors.on_duty(conn)]
    ids += [c.id for c in counselors.supervisors(conn) if c.id not in ids]
    return [i for i in ids if i != skip]


def _page(conn: Connection, case: CaseView, now: datetime, text_key: str, key: str,
          skip: int | None = None, more: str | None = None) -> list[int]:
    """Tell on-duty staff and supervisors about a waiting case, with a button to take it;
    `more`: a line after it."""
    body = staff.text(text_key, number=case.number, priority=case.priority,
                      reasons=labels.reasons(case.reasons),
                      distrik=labels.distrik_in_alert(case.distrik),
                      waited=labels.waited(case.created_at, now))
    if more:
        body = f"{body}\n{more}"
    return [cid for cid in _staff(conn, skip)
            if staff.send(conn, cid, body, now, case_id=case.id,
                          choices=take_button(case.number), key=f"{key}:{cid}")]


def _flag(conn: Connection, case: CaseView, now: datetime, key: str) -> list[int]:
    """Supervisors hear that the holder has not written to the family; the case is flagged."""
    assert case.assignee_id is not None and case.claimed_at is not None
    holder = counselors.get(conn, case.assignee_id)
    body = staff.text("no_response", number=case.number, priority=case.priority,
                      name=holder.name if holder else "?",
                      waited=labels.waited(case.claimed_at, now))
    told_ids = [c.id for c in counselors.supervisors(conn)] or _staff(conn, case.assignee_id)
    queue.mark_flagged(conn, case.id, now)
    return [cid for cid in told_ids
            if staff.send(conn, cid, body, now, case_id=case.id, key=f"{key}:{cid}")]


def _return(conn: Connection, case: CaseView, now: datetime, key: str,
            family_texts: Catalog) -> list[int]:
    """Back to the queue as a release is (the family told, after what waits for them): the
    holder is told, everyone else gets the case to take again; both read how many
    messages wait for the family to write (the takeover notice the holder never followed)."""
    assert case.assignee_id is not None
    holder = counselors.get(conn, case.assignee_id)
    caseops.requeue(conn, family_texts, case, now, "handoff.returned")  # "belum sempat"
    queue.mark_alerted(conn, case.id, now)  # this announcement is the alert since the breach
    if holder is not None and holder.active_case_id == case.id:
        counselors.set_active_case(conn, holder.id, None)
    waits = _held(conn, case)
    told = []
    you = staff.text("returned_to_you", number=case.number)
    if staff.send(conn, case.assignee_id, f"{you}\n{waits}" if waits else you,
                  now, case_id=case.id, key=f"{key}:you:{case.assignee_id}"):
        told.append(case.assignee_id)
    return told + _page(conn, case, now, "returned_to_queue", key, skip=case.assignee_id,
                        more=waits)


def _held(conn: Connection, case: CaseView) -> str | None:
    """"Pesan ke keluarga: N ditahan ..." where messages wait for the family to write."""
    count = outbox.held_count(conn, case.id)
    return staff.text("held_line", count=count) if count else None
