"""What a counselor reads in the chat: the queue, the brief on a case just taken, my cases,
and a case's history (`/antrian`, `/ambil`, `/kasus`, `/riwayat`).

Words for staff, never codes (bot.casework.labels): categories, distrik, reasons, the
family's answers (the choice's label, `(dilewati)`), waiting times (`12 menit`), and times
in WIT on every database (SQLite hands back naive UTC). In the history, a family's plain
number is followed by the choice it meant (bot.casework.intakeview).
"""

from __future__ import annotations

from typing import Any

from bot.casework import caseops, casetiming, earlier, intakeview, labels, staff
from bot.casework.counselorctx import Ctx
from bot.casework.names import speaker_key
from bot.pipeline import held
from bot.privacy import access
from storage import cases, caseviews, conversations, counselors, outbox, queue
from storage.queue import CaseView

HISTORY_MESSAGES = 40
# the family's own messages before those, from the first (a walk-through: a counselor never
# read the story with the mob's machetes, told 60 messages before the last 40)
EARLIER_FAMILY = 15


QUEUE_SHOWN = 5  # cases `/antrian` lists, and every P0 beyond them (up to QUEUE_P0_SHOWN)
QUEUE_P0_SHOWN = 30


def show_queue(ctx: Ctx, args: str) -> None:
    """The waiting cases, most urgent first: five, and every P0 however many (a re-check:
    the P0 of a woman whose attacker was at the door was seventh, behind six others)."""
    p0 = min(queue.waiting_at(ctx.conn, "P0"), QUEUE_P0_SHOWN)
    waiting = queue.waiting(ctx.conn, limit=max(QUEUE_SHOWN, p0))
    if not waiting:
        return ctx.say("queue_empty")
    lines = [staff.text("queue_head", count=queue.count(ctx.conn, ("waiting",)))]
    lines += [staff.text("queue_line", number=c.number, priority=c.priority,
                         waited=labels.waited(c.created_at, ctx.now),
                         reasons=labels.reasons(c.reasons))
              for c in waiting]
    buttons = [{"number": i, "value": f"take:{c.number}",
                "label": staff.text("take_button", number=c.number)}
               for i, c in enumerate(waiting, start=1)]
    staff.send(ctx.conn, ctx.me.id, "\n".join(lines), ctx.now, choices=buttons)


def brief(ctx: Ctx, case: CaseView) -> None:
    """What the counselor needs at a glance, then what the family wrote while waiting."""
    conv = conversations.load(ctx.conn, case.contact_id)
    a = intakeview.of_case(conv, case.id)
    events = cases.events_of(ctx.conn, case.id)
    row = caseviews.case_line(ctx.conn, case.number)  # the guess at the category was made
    guessed = cases.history(ctx.conn, case.id, case.contact_id, cases.closed_at(  # before a
        ctx.conn, row.previous_case_id if row else None), None)  # case opened at the close
    ctx.say("claimed", case_id=case.id, number=case.number, priority=case.priority,
            reasons=labels.reasons(case.reasons),
            category=labels.category_of(case.category, guessed),
            distrik=labels.distrik(case.distrik), contact=intakeview.answer_of(a, "contact"),
            safe_times=intakeview.answer_of(a, "safe_times"),
            leave_message=intakeview.answer_of(a, "leave_message"),
            codeword=intakeview.answer_of(a, "codeword"))
    if before := earlier.line(ctx.conn, case.contact_id, case.id):  # walk S-7
        ctx.say("claimed_earlier", case_id=case.id, earlier=before)
    if cases.triage_of(ctx.conn, case.id).legal_basis == cases.CONSENT_WITHDRAWN:
        # walk S-8: a waiting case whose family said BERHENTI was taken with nothing saying so
        ctx.say("claimed_withdrawn", case_id=case.id,
                basis=labels.word("basis", cases.CONSENT_WITHDRAWN))
    if tpks := casetiming.tpks_line(case.reasons, case.created_at):  # the UU TPKS clock
        ctx.say("claimed_tpks", case_id=case.id, due=tpks)  # (a walk-through: nothing said)
    if conv is not None and conv.language != staff.STAFF_LANGUAGE:  # a walk-through's counselor
        # answered an English-speaking father in Indonesian: nothing had said his language
        ctx.say("claimed_language", case_id=case.id,
                language=labels.family_language(conv.language))
    if (held_now := held.line(ctx.conn, case.id, case.contact_id, ctx.now)) is not None:
        staff.send(ctx.conn, ctx.me.id, held_now, ctx.now, case_id=case.id)  # not written to
    waiting = [_waiting_line(e["data"]) for e in events
               if e["kind"] == "message_while_resting"]
    waiting = [w for w in waiting if w]
    if waiting:
        ctx.say("waiting_messages", case_id=case.id, lines="\n".join(f"• {t}" for t in waiting))


def _waiting_line(data: dict[str, Any]) -> str:
    media = " ".join(f"({m.get('kind')}) {m.get('ref')}" for m in data.get("media") or [])
    said = " ".join(x for x in (str(data.get("text") or ""), media) if x)
    return f"{staff.text('speaker.other')}: {said}" if said and data.get("other_writer") \
        else said


def my_cases(ctx: Ctx, args: str) -> None:
    if args:
        case = queue.by_number(ctx.conn, args.split()[0])
        if case is None:
            return ctx.say("unknown_case", number=args.split()[0])
        if case.status != "claimed":
            return ctx.say("not_open", number=case.number, status=labels.status(case.status))
        if case.assignee_id != ctx.me.id and not ctx.me.supervises:
            return ctx.say("not_yours", number=case.number)
        why = None
        if caseops.breaks_glass(ctx.me, case):  # another's case: the supervisor says why
            why = access.reason_code(" ".join(args.split()[1:2]))  # (once a shift)
            if why is None and access.reason_given(ctx.conn, case.id,
                                                   f"counselor:{ctx.me.id}", ctx.now) is None:
                holder = counselors.get(ctx.conn, case.assignee_id or 0)
                return ctx.say("break_glass_ask", number=case.number,
                               holder=holder.name if holder else "-",
                               reasons=access.reason_choices())
        counselors.set_active_case(ctx.conn, ctx.me.id, case.id)
        access.record(ctx.conn, [case.id], f"counselor:{ctx.me.id}", "kasus", ctx.now, why)
        ctx.say("active_set", case_id=case.id, number=case.number)
        if (held_now := held.line(ctx.conn, case.id, case.contact_id, ctx.now)) is not None:
            staff.send(ctx.conn, ctx.me.id, held_now, ctx.now, case_id=case.id)
        return None
    mine = queue.held_by(ctx.conn, ctx.me.id)
    if not mine:
        return ctx.say("my_cases_none")
    access.record(ctx.conn, [c.id for c in mine], f"counselor:{ctx.me.id}", "kasus", ctx.now)
    active = next((c.number for c in mine if c.id == ctx.me.active_case_id), "-")
    lines = "\n".join(f"{c.number} · {c.priority} · {labels.reasons(c.reasons)}"
                      + _held_mark(ctx, c) for c in mine)
    ctx.say("my_cases", lines=lines, active=active)


def _held_mark(ctx: Ctx, case: CaseView) -> str:
    """" · menunggu keluarga menulis" where messages to the family wait, or would."""
    if outbox.held_count(ctx.conn, case.id) or \
            held.holds(ctx.conn, case.contact_id, case.id, ctx.now) is not None:
        return " · " + staff.text("held_mark")
    return ""


def history(ctx: Ctx, case: CaseView, args: str) -> None:
    """The last messages with the family of the active case, oldest first, times in WIT;
    before them, the family's own earlier messages (the story they began with)."""
    rows = caseviews.last_messages(ctx.conn, case.contact_id, HISTORY_MESSAGES)
    access.record(ctx.conn, [case.id], f"counselor:{ctx.me.id}", "riwayat", ctx.now)
    if not rows:
        return ctx.say("history_empty")
    lines = [staff.text("history_head", number=case.number)]
    earlier = caseviews.family_before(ctx.conn, case.contact_id, rows[0].id, EARLIER_FAMILY)
    if earlier:
        lines.append(staff.text("history_earlier"))
        lines += _lines(earlier, [r.text or "" for r in earlier])
        lines.append(staff.text("history_recent"))
    lines += _lines(rows, intakeview.annotate((r.direction, r.text or "") for r in rows))
    staff.send(ctx.conn, ctx.me.id, "\n".join(lines), ctx.now, case_id=case.id)


def _lines(rows: list[Any], texts: list[str]) -> list[str]:
    """One line per message: time in WIT, who, what (cut at 300 characters), media."""
    out = []
    for r, text in zip(rows, texts, strict=True):
        who = speaker_key(r.direction, r.author)
        sent = ", ".join(labels.word("media", m.get("kind")) for m in r.media or [])
        said = " ".join(x for x in (text[:300], f"({sent})" if sent else "") if x)
        out.append(f"{labels.wit(r.created_at, '%d-%m %H.%M')} {staff.text(who)}: {said}")
    return out
