"""What a counselor does to a case, for both front ends: chat commands (bot.casework.counselor)
and the web console (bot.console). Each operation changes the case, audits it, tells the
family and other staff what they must know, and returns what happened as a staff text key
with its parameters (`Done`); each front end shows that in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.casework import alerts, intakeview, labels, staff
from bot.pipeline import handoff, held
from flows.actions import (
    INSTITUTION_TEXT,
    PHONE_WATCHED,
    REFER,
    REFER_CHOICES,
    REFER_STATE,
    RETURNING,
    WITH_PERSON,
    writes_as_child,
)
from flows.catalog import Catalog
from flows.hours import service_hours
from flows.triage import URGENT
from storage import cases, conversations, counselors, queue
from storage.counselors import CounselorRow
from storage.queue import CaseView
from storage.rows import EventRow, write_rows


@dataclass(frozen=True)
class Done:
    """The result: `key` of the staff catalog and its parameters; `ok` False: refused."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    ok: bool = True
    held: str | None = None  # why what the family was sent waits for them to write


@dataclass
class Act:
    """Who acts, when, in which transaction, and the family texts for telling the family."""

    conn: Connection
    me: CounselorRow
    now: datetime
    family_texts: Catalog

    def audit(self, case_id: int | None, kind: str, **data: Any) -> None:
        write_rows(self.conn, [EventRow(case_id, None, f"counselor:{self.me.id}", kind, data,
                                        self.now)])


def may_act(me: CounselorRow, case: CaseView) -> bool:
    """A held case may be acted on by its holder, and by any supervisor."""
    return case.status == "claimed" and (case.assignee_id == me.id or me.supervises)


def may_read(me: CounselorRow, case: CaseView) -> bool:
    """A counselor reads the cases they hold or held; a supervisor every case."""
    return me.supervises or case.assignee_id == me.id


def breaks_glass(me: CounselorRow, case: CaseView) -> bool:
    """A supervisor opening a case another counselor holds: allowed, with a reason that
    the access record keeps (waiting and closed cases are a supervisor's daily reading)."""
    return case.status == "claimed" and case.assignee_id not in (None, me.id)


def _refused(key: str, **params: Any) -> Done:
    return Done(key, params, ok=False)


def take(act: Act, number: str | None) -> tuple[Done, CaseView | None]:
    """Claim the most urgent waiting case, or the one named; it becomes the active case."""
    outcome, case = queue.claim(act.conn, act.me.id, act.now, number)
    if outcome == "full":
        return _refused("full", capacity=act.me.capacity), None
    if case is None:
        return _refused("gone", suffix=f" ({number})" if number else ""), None
    counselors.set_active_case(act.conn, act.me.id, case.id)
    conversations.set_flag(act.conn, case.contact_id, WITH_PERSON, True)
    act.audit(case.id, "claim", counselor=act.me.name,
              waited_minutes=int((act.now - case.created_at).total_seconds() // 60))
    conv = conversations.load(act.conn, case.contact_id)
    state = intakeview.questions().bundle.flow.states.get(conv.state) if conv else None
    # mid-intake, the bot's question on their screen is answered by no one now (a
    # walk-through's "1" to it reached the counselor, and the family waited for the bot)
    key = "handoff.joined.mid_intake" if state is not None and not state.end \
        else "handoff.joined"
    if conv is not None and writes_as_child(conv.answers):
        key += ".young"  # "kamu" to a boy of 14 (a walk-through: "Sekarang Anda dilayani")
    why = handoff.tell_family(act.conn, act.family_texts, case.id, key, act.now,
                              name=act.me.name.split()[0])
    return Done("claimed", {"number": case.number}, case.id, held=why), case


def note(act: Act, case: CaseView, text: str) -> Done:
    if not text:
        return _refused("note_empty")
    act.audit(case.id, "note", text=text)
    return Done("note_saved", {"number": case.number}, case.id)


def refer(act: Act, case: CaseView, code: str, reason: str) -> Done:
    places = labels.institutions()
    if code.lower() not in places:
        return _refused("refer_unknown", code=code)
    if not reason.strip():
        return _refused("refer_no_reason")
    conv = conversations.load(act.conn, case.contact_id)
    agreed = bool(conv and conv.answers.get("consent") == "agree_refer")
    basis = "consent" if agreed else "vital_interest" if case.priority == "P0" else None
    name = places[code.lower()]["name"]
    if basis is None:  # the family is asked, and the referral is recorded when they agree
        return _ask_to_refer(act, case, code.lower(), reason.strip(), name)
    cases.add_referral(act.conn, case_id=case.id, institution=code.lower(),
                       reason=reason.strip(), legal_basis=basis, counselor_id=act.me.id,
                       now=act.now)
    act.audit(case.id, "referral", institution=code.lower(), reason=reason.strip(),
              legal_basis=basis)
    return Done("refer_saved", {"number": case.number, "institution": name,
                                "basis": labels.basis(basis)}, case.id)


def _ask_to_refer(act: Act, case: CaseView, code: str, reason: str, name: str) -> Done:
    """A referral the family has not agreed to: the question goes to them in the chat (the
    flow's REFER_STATE takes the answer), with what staff would refer them for kept on the
    conversation; their yes records the consent and the referral (bot.pipeline.effects)."""
    if (stopped := _stopped(act, case)) is not None:
        return stopped
    if (why := held.holds(act.conn, case.contact_id, case.id, act.now)) is not None:
        # never held: the family's next words would answer a question they had not seen
        return _refused("refer_held", number=case.number, why=held.reason(why),
                        minutes=held.minutes())
    pending = {"code": code, "reason": reason, "counselor": act.me.id}
    if not conversations.ask(act.conn, case.contact_id, REFER_STATE, {REFER: pending},
                             act.now):
        return _refused("refer_no_consent")
    handoff.ask_family(act.conn, act.family_texts, case.id, REFER_STATE, REFER_STATE,
                       REFER_CHOICES, act.now, institution_key=f"{INSTITUTION_TEXT}{code}")
    act.audit(case.id, "referral_asked", institution=code, reason=reason)
    return Done("refer_asked", {"number": case.number, "institution": name}, case.id)


def _stopped(act: Act, case: CaseView) -> Done | None:
    """Refused: the family asked us to stop (BERHENTI), so nothing more is sent to them."""
    if conversations.contact(act.conn, case.contact_id)[2] == "stopped":
        return _refused("family_stopped", number=case.number)
    return None


def _leave(act: Act, case: CaseView) -> None:
    """The acting person's active case is no longer this one."""
    if act.me.active_case_id in (case.id, None):
        counselors.set_active_case(act.conn, act.me.id, None)


def transfer(act: Act, case: CaseView, name: str) -> Done:
    target = counselors.by_name(act.conn, name) if name else None
    if target is None or target.id == act.me.id:
        return _refused("transfer_unknown", name=name)
    if target.role == counselors.ADMIN:  # keeps accounts, works no cases
        return _refused("transfer_admin", name=target.name)
    if not queue.has_room(act.conn, target.id):
        return _refused("transfer_full", name=target.name, capacity=target.capacity)
    queue.transfer(act.conn, case.id, target.id, act.now)
    counselors.set_active_case(act.conn, target.id, case.id)
    _leave(act, case)
    act.audit(case.id, "transfer", to=target.name, to_id=target.id)
    staff.say(act.conn, target.id, "transferred_to_you", act.now, case_id=case.id,
              number=case.number, priority=case.priority, by=act.me.name,
              reasons=labels.reasons(case.reasons))
    why = handoff.tell_family(act.conn, act.family_texts, case.id, "handoff.transferred",
                              act.now, name=target.name.split()[0])
    return Done("transfer_done", {"number": case.number, "name": target.name}, case.id,
                held=why)


def requeue(conn: Connection, family_texts: Catalog, case: CaseView, now: datetime,
            notice: str = "handoff.released") -> str | None:
    """Back to the queue, however it goes back (released, its holder removed, nobody wrote
    to the family in time: `notice` "handoff.returned", walk S-8): no person holds the
    conversation, and the family is told plainly (after what waits for them, where they
    must not be written to first). Why that notice waits (bot.pipeline.held), or None."""
    queue.release(conn, case.id, now)
    conversations.set_flag(conn, case.contact_id, WITH_PERSON, False)
    return handoff.tell_family(conn, family_texts, case.id, notice, now,
                               case_number=case.number)


def release(act: Act, case: CaseView) -> Done:
    why = requeue(act.conn, act.family_texts, case, act.now)
    _leave(act, case)
    act.audit(case.id, "release")
    fresh = queue.by_id(act.conn, case.id)
    if fresh is not None:  # to the others: not "Kasus baru" to who let it go (a walk-through)
        alerts.announce(act.conn, fresh, act.now, key="requeued_case", but=act.me.id)
    return Done("released", {"number": case.number}, case.id, held=why)


def outcomes() -> list[str]:
    return list(service_hours().outcomes)


def close(act: Act, case: CaseView, outcome: str) -> Done:
    if outcome not in outcomes():
        return _refused("close_outcome", outcomes=" | ".join(outcomes()))
    # an urgent case is closed only once someone has written to the family, or by a supervisor
    if case.priority in URGENT and case.first_response_at is None and not act.me.supervises:
        # Never 2 and 10 by hand: a walk-through took a P0 (a machete threat) and closed it
        # "tidak bisa dihubungi" in the same minute, with no word to the family
        return _refused("close_unanswered", number=case.number, priority=case.priority)
    # the intake's answers stay with the closed case (the conversation starts afresh): a
    # walk-through's counselor closed with a follow-up promised, and the case then showed no
    # consent, contact choice or safe time
    kept = intakeview.of_case(conversations.load(act.conn, case.contact_id), case.id)
    queue.close(act.conn, case.id, outcome, act.now)
    _leave(act, case)
    act.audit(case.id, "close", outcome=outcome, answers=kept)
    why = handoff.tell_family(act.conn, act.family_texts, case.id, "handoff.closed", act.now,
                              case_number=case.number)
    # her phone is still read by someone else after this case: a later case's staff, and
    # the P0 update and privacy notices, still write only after she does (bot.pipeline.held)
    conversations.start_over(act.conn, case.contact_id, "feedback", act.now,
                             keep=(PHONE_WATCHED,), add=(RETURNING,))  # welcomed back later
    if why is not None:  # the fresh conversation waits too: the rating follows the notice
        held.mark(act.conn, case.contact_id)
    handoff.tell_family(act.conn, act.family_texts, case.id, "feedback", act.now)
    return Done("closed", {"number": case.number, "outcome": labels.outcome(outcome)}, case.id,
                held=why)


def duty(act: Act, on: bool) -> Done:
    counselors.set_duty(act.conn, act.me.id, on)
    act.audit(None, "duty", on=on)
    return Done("duty_on" if on else "duty_off")


def to_family(act: Act, case: CaseView, text: str, media: list[dict[str, str]]) -> Done:
    """A counselor's words to the family of a case they may act on, through the outbox;
    held, and the counselor told so, while the family must not be written to first
    (bot.pipeline.held): sent the moment they write, with no need to type it again."""
    if not text and not media:
        return _refused("note_empty")
    if (stopped := _stopped(act, case)) is not None:
        return stopped
    why = handoff.counselor_to_family(act.conn, act.me.id, case.id, text, media, act.now)
    act.audit(case.id, "message", length=len(text), media=len(media))
    if why is not None:
        return Done("message_held", {"number": case.number, "why": held.reason(why),
                                     "minutes": held.minutes()}, case.id, held=why)
    return Done("", {"number": case.number}, case.id)
