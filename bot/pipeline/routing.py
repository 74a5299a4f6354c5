"""Where an inbound message goes: a counselor's command, the family flow, or the counselor.

Once a counselor holds a family's case the bot is silent for that family, except for the
safety keywords, which the flow still answers and the counselor hears about at once. A
message with danger words (flows.crisis) reaches the counselor marked as urgent, raises the
case as an intake would, and brings the family that kind's 24-hour numbers once
(bot.pipeline.helddanger); imminent danger is the flow's to answer (the emergency message),
and the supervisors are paged. A message the counselor has not answered waits on them
(bot.casework.heldwait): the scheduler tells the family, reminds the counselor, then the
supervisors.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.casework import heldwait, intakeview, labels, p0family, staff
from bot.pipeline import apply, helddanger
from bot.pipeline.apply import Batch, Conv, author_of, event_row, inbound_row
from flows.actions import CRISIS_FLAGS
from flows.catalog import Rendered
from flows.commands import NOT_UNDERSTOOD
from flows.crisis import CrisisWords, Scan
from flows.danger import words_event
from flows.loader import Bundle
from flows.text import clean, command_of
from flows.types import Turn
from flows.writers import who_writes
from storage import counselors, inbox
from storage.rows import Processed

# What the flow still answers while a person holds the case: safety words and the family's
# data rights (each right a request with a deadline, bot.privacy), the counselor told at once.
SAFETY_COMMANDS = ("emergency", "stop", "erase", "exit", "data", "correct")


def held_by_person(conv: Conv) -> bool:
    return conv.case_status == "claimed" and conv.assignee_id is not None


def safety_word(msg: inbox.Pending, bundle: Bundle) -> str | None:
    """The safety or rights command a message names or asks for (DARURAT, BERHENTI, HAPUS,
    "tolong hapus sa pu data", DATA...), if any."""
    command = command_of(str(msg.payload.get("text") or ""), bundle.keywords, bundle.phrases)
    return command if command in SAFETY_COMMANDS else None


def danger(msg: inbox.Pending, crisis: CrisisWords, flags: tuple[str, ...] = ()) -> Scan:
    """What a family's message says about danger (only messages of held cases are read here:
    the flow reads every other one itself). Where danger words were seen already (`flags`),
    the model's guess is not asked, as the flow does not ask it then: it tells the counselor
    nothing new, and its misreadings are noise (a walk-through: "sa su di rumah mama
    skarang kaka" reached the counselor marked as danger)."""
    text = clean(str(msg.payload.get("text") or ""))
    return crisis.scan(text, model=not any(f in CRISIS_FLAGS for f in flags)) if text \
        else Scan()


def _groups(groups: tuple[str, ...]) -> str:
    """Danger groups in the staff's words (an unknown group by its name)."""
    return ", ".join(staff.text(f"danger.{g}") if staff.has(f"danger.{g}") else g
                     for g in groups)


def answered(bundle: Bundle, state: str | None, msg: inbox.Pending) -> str | None:
    """A bare number the family sent to the bot's question at `state`, in words, as the
    transcript reads it (bot.casework.intakeview; a walk-through's counselor read only "2",
    which had said "still in danger")."""
    spec = bundle.flow.states.get(state or "")
    text = clean(str(msg.payload.get("text") or ""))
    return intakeview.questions().choice(spec, text) if spec is not None and text else None


def _body(msg: inbox.Pending, number: str, scan: Scan | None = None,
          said: str | None = None) -> tuple[str, list[dict[str, str]]]:
    text = clean(str(msg.payload.get("text") or ""))
    if said:
        text = f"{text} ({said})"  # "2 (Masih dalam bahaya)"
    # each item says which provider holds it, so the counselor's channel can fetch it
    media = [{**m, "channel": msg.channel} for m in msg.payload.get("media") or []]
    body = staff.text("relay_in", number=number, text=text) if text else ""
    for m in media:
        body = "\n".join(x for x in (body, staff.text(
            "relay_media", number=number, kind=labels.word("media", m.get("kind")),
            ref=m.get("ref", ""))) if x)
    body = body or f"[{number}]"
    if scan:  # urgent: the warning first, then the family's words as always
        mark = staff.text("danger_now_mark" if scan.imminent else "danger_mark", number=number,
                          groups=_groups(scan.imminent or scan.groups))
        body = f"{mark}\n{body}"
    return body, media


def copy_to_counselor(conn: Connection, msg: inbox.Pending, conv: Conv, now: datetime,
                      scan: Scan | None = None, paged: bool = False,
                      said: str | None = None) -> None:
    """Show the counselor what the family said to the bot (already logged by the flow; `said`:
    the choice a bare number picked); imminent danger in it pages the supervisors too, unless
    the flow's emergency already did (`paged`)."""
    assert conv.case_id is not None and conv.assignee_id is not None
    body, media = _body(msg, conv.case_number or "", scan, said)
    heldwait.mark(conn, conv.case_id, now)  # the bot answered; the person has yet to
    staff.send(conn, conv.assignee_id, body, now, case_id=conv.case_id, media=media or None)
    if scan is not None and scan.imminent:  # paged again until staff write (walk V-1)
        heldwait.danger_now(conn, conv.case_id, now)
    if scan is not None and scan.imminent and not paged:
        holder = counselors.get(conn, conv.assignee_id)
        page = staff.text("family_danger_now", number=conv.case_number or "",
                          name=holder.name if holder else "?", groups=_groups(scan.imminent))
        for supervisor in counselors.roster(conn).supervisors:
            if supervisor != conv.assignee_id:
                staff.send(conn, supervisor, page, now, case_id=conv.case_id)


def not_an_answer(turn: Turn) -> bool:
    """The flow's turn says it did not understand (its question asked again, simpler, or
    left): the message answered nothing the flow asked."""
    return any(r.key in NOT_UNDERSTOOD for r in turn.replies)


def relay_to_counselor(batch: Batch, msg: inbox.Pending, conv: Conv,
                       scan: Scan | None = None, said: str | None = None) -> None:
    """A family's message goes to the counselor who holds the case, with its number (and
    marked as urgent when it has danger words: `scan`; `said`: the choice a bare number
    picks at the question the family was last shown, which no longer takes it). It waits
    on them from now (bot.casework.heldwait); danger words in it are answered as an intake
    would, the case raised, and the holder reads the raise (bot.pipeline.helddanger)."""
    assert conv.case_id is not None and conv.assignee_id is not None
    conn, now = batch.need(), batch.now
    text = clean(str(msg.payload.get("text") or ""))
    case = heldwait.mark(conn, conv.case_id, now, bool(scan) or heldwait.needs_answer(
        batch.flows.bundle, text, msg.payload.get("media")))
    body, media = _body(msg, conv.case_number or "", scan, said)
    if mark := other_writer(batch, conv, text):  # "ini sa anaknya": said first
        body = staff.text(mark, number=conv.case_number or "") + "\n" + body
    replies: list[Rendered] = []
    if scan and case is not None and conv.snapshot is not None:
        replies, lines = helddanger.answer(batch, msg, conv, scan, case)
        body = "\n".join([body, *lines])
    elif scan:  # the case keeps what was seen (no conversation to read it with)
        batch.rows.append(event_row(conv, "crisis_words",
                                    words_event(scan, False, held_by=conv.assignee_id), now))
    if (owed := heldwait.with_reply(batch, conv, case)) is not None:
        replies.append(Rendered(owed))
    if (update := p0family.with_held_reply(batch, conv, case)) is not None:
        replies.append(Rendered(update))  # danger now still unanswered (walk V-1)
    staff.send(conn, conv.assignee_id, body, now, case_id=conv.case_id, media=media or None)
    batch.rows.append(inbound_row(msg, conv.contact.id, conv.case_id, text, media, now,
                                  author_of(conv.snapshot)))
    apply.replies(batch, msg, conv, replies, conv.case_id)
    batch.rows.append(Processed(now, msg.id))


def other_writer(batch: Batch, conv: Conv, text: str) -> str | None:
    """Who writes to a counselor's case (flows.writers; the flow asks it itself otherwise):
    kept on the conversation, so someone else's messages are logged as theirs and left out
    of the owner's DATA copy, and recorded on the case. The key of the counselor's mark when
    it changed (`other_writer_mark.child`, `.other`, `.owner`), else None."""
    snap = conv.snapshot
    if snap is None:
        return None
    answers = dict(snap.answers)  # the time since the last message is not kept here
    said, events = who_writes(answers, text, batch.flows.bundle.writers, timedelta(0), None)
    if not events:
        return None
    conv.snapshot = replace(snap, answers=answers)
    conv.changed = True
    batch.rows += [event_row(conv, e.kind, e.data, batch.now) for e in events]
    return said and f"other_writer_mark.{said.removeprefix('writer.')}"
