"""What an event of the flow does beyond its audit row: effects, registered by event kind.

An effect gets the batch, the message, the conversation and the event's data, and returns
the kind and data its audit row records. Only what needs the database under the write lock
asks for the connection (`Batch.need`): opening a case, alerting staff, a refusal's
redaction, a stop. The rest (a consent given, a case's new answers at the same priority,
a quick exit's clearing row) are rows, made the same way before the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.broadcast import consent as broadcast_consent
from bot.casework import alerts, earlier, labels, staff
from bot.pipeline import casehooks, quickexit
from bot.pipeline.apply import Batch, Conv, Notice, event_row, keeps_no_words
from bot.privacy.intake import requested
from flows import lapse
from flows.actions import FOLLOW_UP, PHONE_WATCHED, WRITER, writes_as_child
from flows.hours import service_hours
from flows.text import clean
from flows.triage import URGENT
from flows.types import Event
from storage import cases, caseviews, conversations, counselors, inbox, queue
from storage.clock import utc
from storage.rows import ConsentRow, OutboxRow, SavedTriage, write_rows

Data = dict[str, Any]
CHASE_EVERY = timedelta(minutes=30)  # a family writing again on an overdue waiting case
# flows/catalog/<lang>.host.yaml: a family chasing a late case, staff just reminded; said
# instead of the resting reply or "when will staff call?" (which promise what is already late)
CHASE_TEXT = "chase.reminded"
CHASE_INSTEAD = ("closing.idle", "faq.when")
WITHDRAWN = "withdrawn"  # the consent choice BERHENTI records (flows.actions.withdraw_consent)
Effect = Callable[[Batch, inbox.Pending, Conv, Data], tuple[str, Data]]


def consent(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    batch.rows.append(ConsentRow(conv.contact.id, data["version"], data["language"],
                                 data["choice"], data["legal_basis"], batch.now))
    if data["choice"] == "refuse" and conv.case_id is None:
        cases.redact_contact(batch.need(), conv.contact.id, msg.contact_key)
    if data["choice"] == WITHDRAWN and conv.case_id is not None \
            and conv.case_status != "closed":
        _withdrawn(batch, conv)
    return "consent", data


def _withdrawn(batch: Batch, conv: Conv) -> None:
    """BERHENTI on an open case: the case says consent was withdrawn (what it keeps, it keeps
    for safety only), and staff hear it (walk S-8: a waiting P1 still read "Dasar hukum:
    persetujuan keluarga", and nobody was told): with nobody holding it, those a new case of
    its priority reaches; a person holding it hears it with the BERHENTI (run)."""
    assert conv.case_id is not None
    conn = batch.need()
    before = conv.triage or cases.triage_of(conn, conv.case_id)
    conv.triage = after = before.withdrawn()
    batch.rows.append(SavedTriage(**after.values(batch.now), id=conv.case_id))
    case = queue.by_id(conn, conv.case_id)
    assert case is not None
    key = "consent_withdrawn" if case.priority in URGENT else "consent_withdrawn.later"
    body = staff.text(key, number=case.number, priority=case.priority)
    if conv.assignee_id and conv.case_status == "claimed":
        return  # the person holding it hears it once, with the BERHENTI (family_withdrew)
    for cid in alerts.recipients(batch.roster(), case.priority):
        staff.send(conn, cid, body, batch.now, case_id=case.id)


def stop(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    conversations.set_status(batch.need(), conv.contact.id, "stopped")
    broadcast_consent.stopped(batch, conv)  # broadcasts too: every topic ends
    return "stop", data


def case_upsert(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    """A case opened (or, after a closed one, a new linked case), or what the intake learned
    added to the open one: priority only goes up, reasons accumulate; a waiting case that
    became more urgent is announced again."""
    if conv.case_id is None or conv.case_status == "closed":
        return _open(batch, msg, conv, data)
    before = conv.triage or cases.triage_of(batch.need(), conv.case_id)
    conv.triage = after = before.raised(data)
    row = SavedTriage(**after.values(batch.now), id=conv.case_id)
    if after.priority != before.priority and after.priority in URGENT \
            and conv.case_status == "waiting":
        conn = batch.need()
        write_rows(conn, [row])  # the alert shows it as saved
        case = queue.by_id(conn, conv.case_id)
        assert case is not None
        alerts.announce(conn, case, batch.now, key="raised", roster=batch.roster())
    batch.rows.append(row)  # also with the batch: written after any earlier one of it
    return ("case_raised" if after.priority != before.priority else "case_upsert"), data


def _open(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    conn, now = batch.need(), batch.now
    previous = conv.case_id  # a family back after a closed case: a new, linked case
    if previous is not None and data.get(FOLLOW_UP) and data["legal_basis"] != "consent" \
            and cases.triage_of(conn, previous).legal_basis == "consent":
        data = {**data, "legal_basis": "consent"}  # a question about the case she agreed
        # to (walk U-11: a referral): that consent, not "kepentingan vital (darurat)"
    since = _waiting_since(data, now)  # an intake filed hours after her last message
    conv.case_id, conv.case_number = cases.create(
        conn, contact_id=conv.contact.id, channel=msg.channel, data=data, now=now,
        previous_case_id=previous, created_at=since)
    conv.case_status, conv.assignee_id = "waiting", None
    conv.triage = cases.Triage.of(data)
    view = queue.new_view(conv.case_id, conv.case_number, conv.contact.id, msg.channel,
                          data, since)
    before = earlier.line(conn, conv.contact.id, conv.case_id) if previous else ""
    notice = casehooks.opened(conn, batch.flows.bundle.catalog, view, conv.contact.language,
                              now, batch.roster(), before)
    if before:  # the counselor who served the family before hears it (walk S-7)
        earlier.tell_counselor(conn, view, batch.roster(), now)
    if notice:
        batch.notices.append(notice)
    return "case_opened", data


def _waiting_since(data: Data, now: datetime) -> datetime:
    """When the case's waiting began: her last message where the scheduler filed her intake
    later (flows.lapse.SINCE: walk T-11, its wait and deadline counted from the filing,
    4 hours short), else now."""
    told = data.get(lapse.SINCE)
    return min(utc(datetime.fromisoformat(str(told))), now) if told else now


def resting(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    """Words written after the intake ended: kept on the event for staff (unless consent
    was refused)."""
    if not keeps_no_words(conv):
        data = {**data, "text": clean(str(msg.payload.get("text") or ""))[:500],
                "media": msg.payload.get("media") or []}
    if conv.case_id is not None and conv.case_status == "waiting" and \
            _chased(batch, conv.case_id, str(data.get("text") or "")):
        batch.notices.append(chase_reply(batch, conv))
        data = {**data, "chased": True}
    return "message_while_resting", data


def chase_reply(batch: Batch, conv: Conv) -> Notice:
    """What a family chasing a late case reads instead of "Pesan Anda sudah kami tambahkan"
    (walk S-8): sorry for the wait, staff reminded just now, DARURAT if in danger. A reply to
    her own message, so also where staff must not write first (its words say so there: staff
    answer after she writes); someone else on the phone hears no case number (Never 5)."""
    snap = conv.snapshot
    answers, flags = (snap.answers, snap.flags) if snap is not None else ({}, ())
    language = snap.language if snap is not None else conv.contact.language
    key = CHASE_TEXT
    if WRITER in answers:
        key += ".other_writer"
    else:
        key += ".phone_watched" if PHONE_WATCHED in flags else ""
        key += ".young" if writes_as_child(answers) else ""
    text = batch.flows.bundle.catalog.text(key, language,
                                           {"case_number": conv.case_number or ""})
    return Notice(text, instead=CHASE_INSTEAD)


def _chased(batch: Batch, case_id: int, text: str) -> bool:
    """The family writes again on a case nobody holds, past its deadline (taken back by the
    scheduler, or released): staff hear it, supervisors too, with her words (where they are
    kept) and a button to take it (walk S-8: "kapan petugas telpon? su 5 hari" got "Pesan
    Anda sudah kami tambahkan" and nobody knew); a P0 is paged again by the scheduler
    anyway, and one alert in CHASE_EVERY is enough. Whether staff were alerted now."""
    conn, now = batch.need(), batch.now
    case = queue.by_id(conn, case_id)
    if case is None or case.priority == "P0" or \
            now < service_hours().deadline(case.priority, case.created_at) or \
            (case.last_alert_at is not None and now - case.last_alert_at < CHASE_EVERY):
        return False
    roster = batch.roster()
    if roster.on_duty:  # supervisors too, whatever the priority: it is past its deadline
        roster = counselors.Roster(tuple(dict.fromkeys(roster.on_duty + roster.supervisors)),
                                   roster.supervisors)
    alerts.announce(conn, case, now, key="family_chasing", roster=roster,
                    word=casehooks.quoted(text) if text else "-")
    queue.mark_alerted(conn, case.id, now)
    return True


def case_number(batch: Batch, msg: inbox.Pending, conv: Conv,
                data: Data) -> tuple[str, Data]:
    """A case number the family wrote (flows.casenumbers): looked up among this contact's
    own cases only. Theirs, and not the case open now: staff hear which case they mean (the
    holder of the open case, else whoever served the earlier one, else the supervisors). Of
    no case of theirs: nothing is looked at, said or told (Never 5); the family's reply is
    the same either way."""
    conn = batch.need()
    found = caseviews.own_case(conn, conv.contact.id, str(data["number"]))
    out: Data = {"state": data.get("state"), "own": found is not None}
    is_open = conv.case_id is not None and conv.case_status != "closed"
    if found is None or (is_open and found.id == conv.case_id):
        return "case_number_told", out
    out["case"] = found.number
    word = "-" if keeps_no_words(conv) else \
        casehooks.quoted(clean(str(msg.payload.get("text") or "")))
    if is_open:
        body = staff.text("named_case.open", number=conv.case_number,
                          earlier=earlier.named(found), word=word)
        holder = conv.assignee_id if conv.case_status == "claimed" else found.assignee_id
    else:
        body = staff.text("named_case", earlier=earlier.named(found), word=word,
                          state=labels.state(str(data.get("state") or "")))
        holder = found.assignee_id
    for cid in [holder] if holder else batch.roster().supervisors:
        staff.send(conn, cid, body, batch.now, case_id=conv.case_id if is_open else None)
    return "case_number_told", out


def satisfaction(batch: Batch, msg: inbox.Pending, conv: Conv,
                 data: Data) -> tuple[str, Data]:
    if conv.case_id is not None:
        casehooks.satisfaction(batch.need(), conv.case_id, int(data["score"]), batch.now)
    return "satisfaction", data


def quick_exit(batch: Batch, msg: inbox.Pending, conv: Conv, data: Data) -> tuple[str, Data]:
    """KELUAR: the chat cleared where it can be, before the reply."""
    clear = quickexit.row(msg.channel, msg.sender, conv.contact.id, conv.case_id, msg.id)
    if clear is not None:
        batch.rows.append(OutboxRow(**clear, status="pending", attempts=0,
                                    available_at=batch.now, created_at=batch.now))
    return "quick_exit", {**data, "chat_cleared": clear is not None}


def privacy_request(batch: Batch, msg: inbox.Pending, conv: Conv,
                    data: Data) -> tuple[str, Data]:
    """DATA, UBAH or HAPUS: a request due in 3x24 hours, supervisors told (bot.privacy)."""
    language = conv.snapshot.language if conv.snapshot else conv.contact.language
    return "privacy_request", {**data, **requested(batch.need(), conv.contact.id, language,
                                                   str(data["right"]), batch.now)}


def referral_agreed(batch: Batch, msg: inbox.Pending, conv: Conv,
                    data: Data) -> tuple[str, Data]:
    """The family's yes to a referral staff asked about (bot.casework.caseops): the
    referral recorded on consent, and the counselor who asked told."""
    if conv.case_id is None or not data.get("code"):
        return "referral_agreed", data  # asked of a case since closed: nothing to refer
    conn, code = batch.need(), str(data["code"])
    cases.add_referral(conn, case_id=conv.case_id, institution=code,
                       reason=str(data.get("reason") or ""), legal_basis="consent",
                       counselor_id=int(data["counselor"]), now=batch.now)
    staff.say(conn, int(data["counselor"]), "refer_agreed", batch.now, case_id=conv.case_id,
              number=conv.case_number or "", institution=labels.institution(code))
    return "referral", {"institution": code, "reason": data.get("reason") or "",
                        "legal_basis": "consent", "asked_by": data["counselor"]}


def referral_refused(batch: Batch, msg: inbox.Pending, conv: Conv,
                     data: Data) -> tuple[str, Data]:
    """The family's no: the counselor who asked is told; nothing is shared."""
    if conv.case_id is not None and data.get("counselor"):
        staff.say(batch.need(), int(data["counselor"]), "refer_refused", batch.now,
                  case_id=conv.case_id, number=conv.case_number or "",
                  institution=labels.institution(str(data.get("code") or "")))
    return "referral_refused", {"institution": data.get("code") or ""}


EFFECTS: dict[str, Effect] = {
    "consent": consent, "stop": stop, "case_upsert": case_upsert,
    "message_while_resting": resting, "satisfaction": satisfaction, "quick_exit": quick_exit,
    "case_number_told": case_number,
    "privacy_request": privacy_request, "referral_agreed": referral_agreed,
    "referral_refused": referral_refused, **broadcast_consent.EFFECTS,
}


def run_all(batch: Batch, msg: inbox.Pending, conv: Conv, events: Sequence[Event]) -> None:
    """A turn's events: each one's effect, in order, then their audit rows, all on the case
    the conversation has after them: the case the turn opened, where it opened one (walk
    U-8: a family back after a closed case typed DARURAT; its `keyword` and `emergency`
    rows sat on the closed case, and the new P0 case had none)."""
    done = [run(batch, msg, conv, ev.kind, ev.data) for ev in events]
    batch.rows += [event_row(conv, kind, data, batch.now) for kind, data in done]


def run(batch: Batch, msg: inbox.Pending, conv: Conv, kind: str,
        data: Data) -> tuple[str, Data]:
    """The event's effect, if it has one; the person holding the case hears of a safety
    word at once."""
    effect = EFFECTS.get(kind)
    if effect is not None:
        kind, data = effect(batch, msg, conv, data)
    if kind in casehooks.SAFETY_EVENTS and conv.assignee_id and conv.case_status == "claimed":
        casehooks.family_safety(batch.need(), conv.case_id, conv.assignee_id, msg, kind,
                                batch.now)
    return kind, data
