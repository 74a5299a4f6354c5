"""Danger words that are not imminent from a family whose case a person holds (walk U-1:
"paitua su tau sa lapor, de bilang nanti malam de pukul sa" reached the holder only, the
family heard nothing, the case stayed P2 and nobody else knew).

The engine reads them as an intake would (flows.danger.held): the case raised by the same
triage (P1 `violence_words`...), through the case effect (bot.pipeline.effects), and the P1
text with that kind's 24-hour numbers, in its forms (a child's; on a phone someone else
reads, staff answer after they write). The family hears that text once while the holder has
not answered them (`say`): a new kind of danger always (numbers are never wrong when danger
is new), the same kind again only once the holder has answered since, and not within
`held_quiet_minutes` of the holder's last words (they are talking). The holder reads the
raise under the family's words, and by when to answer; the supervisors hear at once where
the case is now P0, or outside service hours with the holder off duty; otherwise by the
priority's target, from the scheduler (bot.casework.heldwait).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from bot.casework import heldwait, labels, staff
from bot.pipeline import casehooks, effects
from bot.pipeline.apply import Batch, Conv, event_row, keeps_no_words
from bot.pipeline.plans import inbound_of
from flows.actions import CRISIS_FLAGS, WRITER
from flows.catalog import Rendered
from flows.crisis import Scan
from flows.danger import flags_seen
from flows.hours import ServiceHours, service_hours
from flows.text import clean
from flows.triage import URGENT
from storage import cases, counselors, inbox
from storage.queue import CaseView
from storage.rows import DangerWaits, WaitEscalated, write_rows


def answer(batch: Batch, msg: inbox.Pending, conv: Conv, scan: Scan,
           case: CaseView) -> tuple[list[Rendered], list[str]]:
    """The danger words of `msg` on the held case `case`: the conversation and case as they
    leave them, and what the family reads (its P1 text, or nothing) and the lines the holder
    reads under their words."""
    assert conv.snapshot is not None and conv.case_id is not None
    conn, now, hours = batch.need(), batch.now, service_hours()
    told = say(conn, conv, scan, case, now, hours)
    before = conv.triage or cases.triage_of(conn, conv.case_id)
    turn = batch.flows.held_danger(conv.snapshot, inbound_of(msg), scan, now, told)
    for ev in turn.events:
        data = {**ev.data, "held_by": conv.assignee_id} if ev.kind == "crisis_words" else \
            {k: v for k, v in ev.data.items() if k != "status"}  # held, not "menunggu"
        kind, data = effects.run(batch, msg, conv, ev.kind, data)
        batch.rows.append(event_row(conv, kind, data, now))
    conv.snapshot = replace(turn.snapshot, case_number=conv.case_number)
    conv.changed = True
    after = conv.triage or before
    lines = [staff.text("held_raised", priority=after.priority,
                        reasons=labels.reasons(after.reasons))] \
        if after.priority != before.priority else []
    if turn.replies:
        lines.append(staff.text("held_numbers_told"))
    if after.priority in URGENT:
        lines += _urgent(batch, msg, conv, replace(case, priority=after.priority,
                                                   reasons=list(after.reasons)),
                         before.priority, hours)
    extra = {"case_number": conv.case_number or ""}
    language = conv.snapshot.language
    return [batch.flows.bundle.catalog.render(r, language, extra) for r in turn.replies], lines


def say(conn: Connection, conv: Conv, scan: Scan, case: CaseView, now: datetime,
        hours: ServiceHours) -> bool:
    """Whether the family hears the danger text for these words now (see the module)."""
    assert conv.snapshot is not None and conv.case_id is not None
    flags = conv.snapshot.flags
    seen = flags_seen(scan, flags, WRITER in conv.snapshot.answers)
    if any(f in CRISIS_FLAGS and f not in flags for f in seen):
        return True  # a kind of danger not told before
    if case.danger_waiting_since is not None:
        return False  # told already since the holder last answered
    wrote = cases.staff_wrote_at(conn, conv.contact.id, conv.case_id)
    return wrote is None or now - wrote >= hours.held_quiet


def _urgent(batch: Batch, msg: inbox.Pending, conv: Conv, case: CaseView, was: str,
            hours: ServiceHours) -> list[str]:
    """An urgent case's danger words wait on the holder: the supervisors told at once where
    the case became P0 (sexual violence told as recent), or outside service hours with the
    holder off duty; else the holder reads by when to answer. The holder's lines."""
    conn, now = batch.need(), batch.now
    assert conv.assignee_id is not None
    since = case.danger_waiting_since or now
    if case.danger_waiting_since is None:
        write_rows(conn, [DangerWaits(now, case.id)])
    if case.wait_escalated_at is not None:
        return []  # the supervisors know this family waits
    holder = counselors.get(conn, conv.assignee_id)
    off = holder is None or not holder.on_duty
    p0 = case.priority == "P0" and was != "P0"
    if not p0 and not (off and not hours.is_open(now)):
        by = hours.deadline(case.priority, since)
        return [staff.text("held_answer_by", by=heldwait.when(by, now))]
    word = "-" if keeps_no_words(conv) else \
        casehooks.quoted(clean(str(msg.payload.get("text") or "")))
    key = "held_danger_now.p0" if p0 else heldwait.DANGER_NOW
    body = staff.text(key, number=case.number, priority=case.priority,
                      reasons=labels.reasons(case.reasons),
                      name=holder.name if holder else "?", word=word)
    told = [cid for cid in heldwait.supervisors(conn, conv.assignee_id)
            if staff.send(conn, cid, body, now, case_id=case.id)]
    write_rows(conn, [WaitEscalated(now, case.id)])
    batch.rows.append(event_row(conv, "held_danger_now", {"priority": case.priority,
                                                          "told": told}, now))
    return [staff.text("held_supervisors_told.p0" if p0 else "held_supervisors_told")]
