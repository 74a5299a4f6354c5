"""A case as the console shows it: details in words, the intake answers under their questions,
the transcript (family, bot, counselor) with media, notes, the audit trail, the deadline.
The same readings as `lk3 cases show` (bot.cli.caseshow, bot.casework.intakeview,
bot.casework.labels)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot import media
from bot.casework import casetiming, earlier, intakeview, labels
from bot.casework.names import Names
from bot.cli.caseshow import summary
from bot.config import Settings
from bot.console.texts import Words
from bot.pipeline import held
from storage import cases, caseviews, consoleviews, conversations
from storage.clock import maybe_utc


@dataclass(frozen=True)
class Line:
    id: int
    at: datetime
    who: str
    side: str  # family | bot | staff
    text: str
    media: list[dict[str, str]]


@dataclass(frozen=True)
class CasePage:
    row: Any
    fields: list[tuple[str, str]]
    deadline_state: str
    answers: list[tuple[str, str]]
    lines: list[Line]
    notes: list[tuple[datetime, str, str]]
    events: list[tuple[datetime, str, str, str]]
    last_id: int


def find(conn: Connection, number: str) -> Any:
    return caseviews.case_line(conn, number)


def _fields(row: Any, words: Words, now: datetime,
            events: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], str]:
    lang = words.lang
    t = casetiming.timing(row, casetiming.service(), now, lang)
    waited = casetiming.waited(t, lang)
    state = labels.status(row.status, lang) if t.state == "closed" else t.label
    s = words.s
    return [
        (s("field.status"), labels.status(row.status, lang)),
        (s("field.priority"), words.priority(row.priority)),
        (s("field.reasons"), labels.reasons(row.reasons, lang)),
        (s("field.category"), labels.category_of(row.category, events, lang)),
        (s("field.distrik"), labels.distrik(row.distrik, lang)),
        (s("field.channel"), row.channel),
        (s("field.language"), labels.family_language(row.language, lang)),
        (s("field.basis"), labels.basis(row.legal_basis, lang)),
        (s("field.assignee"), row.assignee or "-"),
        (s("field.created"), labels.wit(row.created_at)),
        (s("field.claimed"), labels.wit(row.claimed_at)),
        (s("field.first_response"), labels.wit(row.first_response_at)),
        (s("field.closed"), labels.wit(row.closed_at)),
        (s("field.waiting"), waited),
        (s("field.deadline"), f"{labels.wit(t.deadline)} ({state})"),
        *([(s("field.tpks"), tpks)]
          if (tpks := casetiming.tpks_line(row.reasons, row.created_at, lang)) else []),
        (s("field.outcome"), labels.outcome(row.outcome, lang)),
        (s("field.satisfaction"), "-" if row.satisfaction is None else str(row.satisfaction)),
    ], t.state


def transcript(conn: Connection, row: Any, words: Words, settings: Settings,
               after: int = 0) -> list[Line]:
    """The contact's messages (after message id `after`), oldest first."""
    log = consoleviews.messages(conn, row.contact_id)
    names = Names(conn)
    texts = intakeview.annotate((r.direction, r.text or "") for r in log)
    out = []
    for r, text in zip(log, texts, strict=True):
        if r.id <= after:
            continue
        side = "family" if r.direction == "in" else \
            "staff" if str(r.author or "").startswith("counselor") else "bot"
        if r.truncated:
            text += " " + words.s("show_characters", count=r.original_length)
        items = [{"kind": labels.word("media", m.get("kind"), words.lang),
                  "url": media.link(settings, m) or ""}
                 for m in r.media or [] if isinstance(m, dict)]
        out.append(Line(int(r.id), maybe_utc(r.created_at) or r.created_at,
                        names.speaker(r.direction, r.author), side, text, items))
    return out


def page(conn: Connection, row: Any, words: Words, settings: Settings,
         now: datetime) -> CasePage:
    history = cases.history(conn, row.id, row.contact_id,
                            cases.closed_at(conn, row.previous_case_id), maybe_utc(row.closed_at))
    fields, state = _fields(row, words, now, history)
    if (waits := held.line(conn, row.id, row.contact_id, now, words.lang,
                           closed=row.status == "closed")) is not None:
        fields.append((words.s("field.held"), waits))
    if before := earlier.line(conn, row.contact_id, row.id, words.lang):  # walk S-7
        fields.append((words.s("field.earlier"), before))
    conv = conversations.load(conn, row.contact_id)
    lines = transcript(conn, row, words, settings)
    said = [("in" if ln.side == "family" else "out", ln.text) for ln in lines]
    names = Names(conn)
    answers = intakeview.answers(intakeview.of_case(conv, row.id, history),
                                 intakeview.asked_states(said), words.lang)
    notes = [(e["created_at"], names.actor(str(e["actor"]), words.lang),
              str(e["data"].get("text", "")))
             for e in history if e["kind"] == "note"]
    events = [(e["created_at"], names.actor(str(e["actor"]), words.lang),
               labels.word("event", str(e["kind"]), words.lang),
               "" if e["kind"] == "note" else summary(e["data"], words.lang))
              for e in history]
    return CasePage(row, fields, state, answers, lines, notes, events,
                    max((ln.id for ln in lines), default=0))
