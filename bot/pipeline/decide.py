"""The decide step: one engine turn of a family, as the rows and effects it makes.

Runs in the inbox processor under the write lock, and (when several processors share a
SQLite file) before it, on a copy of the conversation with no connection: a turn that needs
the database then raises `bot.pipeline.apply.NeedsLock` and is decided again under the lock, by
this same code.
"""

from __future__ import annotations

from dataclasses import replace

from bot.casework import p0family
from bot.pipeline import effects, handoff, held
from bot.pipeline.apply import Batch, Conv, Notice, send
from flows import casetold
from flows.actions import told_kinds
from flows.catalog import Rendered
from flows.engine import Engine as FlowEngine
from flows.types import Snapshot, Turn
from storage import conversations, inbox

CLOSING = "closing"  # the intake's closing texts (flows/intake.yaml `closing`)
CONTACTS = "_contacts"  # a reply's parameter that lists numbers (emergency_contacts ...)


def record(batch: Batch, msg: inbox.Pending, conv: Conv, turn: Turn) -> None:
    """Record one turn: its events (with their effects), the conversation as it leaves
    it, the transcript and the replies (after what was held for the family's next words:
    bot.pipeline.held; with the P0 update owed them: bot.casework.p0family); an answer the
    case keeps, told to its case (flows.casetold)."""
    now = batch.now
    turn = casetold.told(batch.flows, conv.snapshot, turn, now, conv.case_id is not None
                         and conv.case_status != "closed")
    waiting, owed = held.waiting(conv), p0family.owed(conv)
    if waiting or owed:
        batch.need()  # before the write lock: the held rows are found under it
    effects.run_all(batch, msg, conv, turn.events)  # on the case the turn opened, if any
    snap = turn.snapshot
    if snap.language != conv.contact.language:
        conversations.set_language(batch.need(), conv.contact.id, snap.language)
        conv.contact = conversations.ContactRow(conv.contact.id, snap.language,
                                                conv.contact.status)
    conv.snapshot = snap if snap.case_number == conv.case_number else \
        replace(snap, case_number=conv.case_number)
    conv.changed = True
    if waiting:
        handoff.release(batch, conv, [ev.kind for ev in turn.events])
    if owed:
        p0family.with_reply(batch, conv, [ev.kind for ev in turn.events])
    extra = {"case_number": conv.case_number or ""}
    rendered = [batch.flows.bundle.catalog.render(r, snap.language, extra) for r in turn.replies]
    for notice in [n for n in batch.notices if n.instead]:  # while rendered is turn.replies'
        _instead(notice, turn, rendered)
    for notice in batch.notices:
        if not notice.instead and said_with(notice, turn):
            _place(batch, notice, turn, rendered)
    batch.notices.clear()
    send(batch, msg, conv, rendered)


def _instead(notice: Notice, turn: Turn, rendered: list[Rendered]) -> None:
    """A notice in place of the turn's texts it replaces (`Notice.instead`), said once."""
    at = [i for i, r in enumerate(turn.replies) if r.key.startswith(notice.instead)]
    for i in reversed(at):
        del rendered[i]
    if at:
        rendered.insert(at[0], Rendered(notice.text))


def _place(batch: Batch, notice: Notice, turn: Turn, rendered: list[Rendered]) -> None:
    """A notice after the turn's texts (the closing) and before its question, so the question
    stays last on a small screen; where the turn gave the numbers, its short form, inside the
    emergency text that asks "are you safe now?" (walk O: a fourth list of numbers in a row)."""
    snap = turn.snapshot
    at = _question_at(batch.flows, snap, rendered)
    inside = _inside(notice, turn, rendered, at)
    if inside is not None:
        rendered[at] = replace(rendered[at], text=inside)
        return
    if notice.short and _gave_numbers(turn):
        notice = notice._replace(text=notice.short, numbers=False)
    rendered.insert(at, Rendered(_filled(batch, notice, snap)))


def notice_rows(flows: FlowEngine, notice: Notice | None, turn: Turn,
                rendered: list[Rendered]) -> int:
    """How many messages a notice adds to a turn: none where it is not said, or where its
    short form goes inside a text (`lk3 bench` counts the rows it expects with this)."""
    if notice is None or not said_with(notice, turn):
        return 0
    at = _question_at(flows, turn.snapshot, rendered)
    return 0 if _inside(notice, turn, rendered, at) is not None else 1


def _question_at(flows: FlowEngine, snap: Snapshot, rendered: list[Rendered]) -> int:
    """Where a notice goes: before the question (the last text with choices, else the last
    text) when the turn ends asking one, else after everything."""
    if rendered and _asks(flows, snap):
        return next((i for i in range(len(rendered) - 1, -1, -1) if rendered[i].choices),
                    len(rendered) - 1)
    return len(rendered)


def _gave_numbers(turn: Turn) -> bool:
    return any(k.endswith(CONTACTS) for r in turn.replies for k in r.params)


def _inside(notice: Notice, turn: Turn, rendered: list[Rendered], at: int) -> str | None:
    """The text at `at` with the notice's short form before its closing question, where the
    turn gave the numbers and that text ends asking one; else None."""
    if not (notice.short and _gave_numbers(turn)) or at >= len(rendered):
        return None
    lines = rendered[at].text.splitlines()
    if len(lines) > 1 and lines[-1].endswith("?"):
        return "\n".join([*lines[:-1], notice.short, lines[-1]])
    return None


def _asks(flows: FlowEngine, snap: Snapshot) -> bool:
    """Whether the turn ends with a question the family is to answer (the conversation waits
    at a question, not at rest): a notice goes before it, so that the question stays the last
    thing on the screen (walk O: "Maaf, pemberitahuan ... belum sampai" came after "Berapa
    usia Anda?")."""
    state = flows.flow.states.get(snap.state)
    return state is not None and not state.end


def said_with(notice: Notice | None, turn: Turn) -> bool:
    """Whether a notice is said with this turn's replies: not one about service hours beside
    the closing, which says when staff answer (walk K: "mulai besok, 08.00 WIT", then "Saat
    ini di luar jam layanan")."""
    return notice is not None and not (
        notice.hours and any(r.key.startswith(CLOSING) for r in turn.replies))


def _filled(batch: Batch, notice: Notice, snap: Snapshot) -> str:
    """A notice's text; with `numbers`, the emergency numbers in the order the emergency
    message gives them (the danger told first: 119 to one who spoke of dying, 110 last to
    one the police hurt)."""
    if not notice.numbers:
        return notice.text
    contacts = batch.flows.bundle.directory.contacts(
        snap.language, snap.answers.get("distrik"), first=told_kinds(snap.answers, snap.flags))
    return notice.text.replace("{emergency_contacts}", contacts)
