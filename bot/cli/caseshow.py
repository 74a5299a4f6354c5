"""`lk3 cases show NUMBER`: one case as staff read it.

Its details in words (bot.casework.labels) with times in WIT; every answer the family gave,
under the question the bot asked (bot.casework.intakeview); the conversation (Keluarga / Bot
/ Petugas NAME), a plain number followed by the choice it meant; the danger words the bot
recognised (and a
`SALAH KETIK`); and the audit trail. Read in one read-only transaction.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine

from bot.casework import casetiming, earlier, intakeview, labels, staff
from bot.casework.names import Names
from bot.casework.staff import STAFF_LANGUAGE
from bot.pipeline import held
from bot.privacy import access
from storage import cases, caseviews, conversations
from storage.clock import maybe_utc, utc, utcnow
from storage.db import reading

INDENT = "  "


def _kinds(media: list[Any], language: str = STAFF_LANGUAGE) -> list[str]:
    """What a message carried besides words, in words (`foto`, `pesan suara`)."""
    return [labels.media(str(m.get("kind") or m.get("type") or ""), language)
            if isinstance(m, dict) else labels.media(None, language) for m in media]


def _media(media: Any) -> str:
    return " " + " ".join(f"[{k}]" for k in _kinds(media)) if media else ""


def _institution(code: str | None, language: str = STAFF_LANGUAGE) -> str:
    return labels.institution(code) if code else "-"


# Values in the audit trail's data that are codes, in words.
_WORDS: dict[str, Callable[[str | None, str], str]] = {
    "status": labels.status, "category": labels.category, "distrik": labels.distrik,
    "outcome": labels.outcome, "legal_basis": labels.basis, "state": labels.state,
    "choice": labels.choice, "right": partial(labels.word, "right"),
    "constraint": partial(labels.word, "constraint"), "notice": partial(labels.word, "noticed"),
    "command": partial(labels.word, "command"), "why": labels.why,
    "mode": partial(labels.word, "mode"), "language": labels.family_language,
    "institution": _institution, "asked": labels.state,
    "topic": labels.topic, "source": partial(labels.word, "source"),
    "reason": lambda v, lang: _reason(v, lang)}


def _reason(v: str | None, language: str) -> str:
    """A reason the code writes (`keyword`: BERHENTI INFO stopped broadcasts; a removed
    counselor's cases back in the queue) in words; a reason staff wrote (a referral's) as
    written."""
    code = str(v or "").replace(" ", "_")
    return labels.word("reason_code", code, language) if code in _REASON_CODES else str(v or "")


_REASON_CODES = ("keyword", "stop", "erased", "provider", "counselor_removed")
_LISTS = {"reasons": labels.reasons, "groups": labels.groups,
          "added": lambda codes, lang: ", ".join(labels.topic(c, lang) for c in codes) or "-"}
# Counted rather than listed (a walk-through's supervisor read "diberi tahu: [1, 2]" and the
# lists' own tokens, "@perp @hit"): staff ids, the phrases matched, the rows erased.
_COUNTED = {"told": "show_count_staff", "matched": "show_count_phrases",
            "counts": "show_count_rows", "answers": "show_count_answers"}


def _value(key: str, v: Any, language: str) -> str:
    if key in _WORDS and (v is None or isinstance(v, str)):
        return _WORDS[key](v, language)
    if key == "media" and isinstance(v, list):
        return ", ".join(_kinds(v, language)) or "-"
    if key in _LISTS and isinstance(v, list):
        return _LISTS[key]([str(x) for x in v], language)
    if key in _COUNTED and isinstance(v, list | dict):
        n = sum(x for x in v.values() if isinstance(x, int)) if isinstance(v, dict) else len(v)
        return staff.text(_COUNTED[key], language, n=n)
    if isinstance(v, bool):
        return labels.word("yesno", str(v).lower(), language)
    if isinstance(v, str) and (when := _stamp(v)) is not None:
        return f"{labels.wit(when)} WIT"  # "2026-12-09T21:31:41+00:00" was a UTC stamp
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _stamp(text: str) -> datetime | None:
    """An ISO time with its offset (how event data keeps times), else None."""
    if len(text) < 20 or text[4:5] != "-" or "T" not in text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def summary(data: Any, language: str = STAFF_LANGUAGE, limit: int = 120) -> str:
    """An audit event's data for staff: each key in words where the staff texts name it
    (`data.KEY`), code values in words (status, category, reasons...)."""
    if not data:
        return ""
    if isinstance(data, dict):
        text = ", ".join(f"{labels.word('data', str(k), language)}: "
                         f"{_value(str(k), v, language)}" for k, v in data.items())
    else:
        text = json.dumps(data, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _lines(head: str, text: str) -> list[str]:
    """`head` then the text, its further lines under the first one's start."""
    first, *rest = text.splitlines() or [""]
    return [f"{head}{first}".rstrip(), *(f"{' ' * len(head)}{more}".rstrip() for more in rest)]


def _details(row: Any, now: datetime, events: list[dict[str, Any]],
             before: str = "") -> list[str]:
    t = casetiming.timing(row, casetiming.service(), now)
    waited = casetiming.waited(t)
    state = labels.status(row.status) if t.state == "closed" else t.label
    named = [
        (staff.text("field.number"), row.number),
        (staff.text("field.status"), labels.status(row.status)),
        (staff.text("field.priority"), row.priority),
        (staff.text("field.reasons"), labels.reasons(row.reasons)),
        (staff.text("field.category"), labels.category_of(row.category, events)),
        (staff.text("field.distrik"), labels.distrik(row.distrik)),
        (staff.text("field.channel"), row.channel),
        (staff.text("field.language"), labels.family_language(row.language)),
        (staff.text("field.basis"), labels.basis(row.legal_basis)),
        (staff.text("field.assignee"), row.assignee or "-"),
        (staff.text("field.created"), labels.wit(row.created_at)),
        (staff.text("field.claimed"), labels.wit(row.claimed_at)),
        (staff.text("field.first_response"), labels.wit(row.first_response_at)),
        (staff.text("field.closed"), labels.wit(row.closed_at)),
        (staff.text("field.waiting"), waited),
        (staff.text("field.deadline"), f"{labels.wit(t.deadline)} ({state})"),
        *([(staff.text("field.tpks"), tpks)]
          if (tpks := casetiming.tpks_line(row.reasons, row.created_at)) else []),
        (staff.text("field.outcome"), labels.outcome(row.outcome)),
        (staff.text("field.satisfaction"),
         "-" if row.satisfaction is None else str(row.satisfaction)),
        *([(staff.text("field.earlier"), before)] if before else []),  # walk S-7
    ]
    width = max(len(k) for k, _ in named) + 2
    return [*(f"{k + ':':{width}} {v}" for k, v in named), staff.text("show_times")]


def _danger(events: list[dict[str, Any]], said: dict[datetime, list[str]]) -> list[str]:
    """The danger words the bot recognised, with the family's message that carried them (the
    one logged in the same turn; `said`: the family's texts by time), and a SALAH KETIK."""
    out = []
    for e in events:
        data = e["data"] or {}
        if e["kind"] == "crisis_words":
            texts = [f'"{t}"' for t in said.get(e["created_at"], []) if t] or \
                [f'"{w}"' for w in data.get("matched") or []]
            text = staff.text("show_danger_line", groups=labels.groups(data.get("groups") or []),
                              imminent=staff.text("show_danger_imminent")
                              if data.get("imminent") else "", words=" / ".join(texts) or "-")
            if data.get("model") is not None:  # the model's reading, not words of the lists
                text += staff.text("show_danger_model", percent=round(100 * data["model"]))
        elif e["kind"] == "crisis_disputed":
            hit = [str(f).removeprefix("crisis_") for f in data.get("flags") or []]
            text = staff.text("show_disputed_line", groups=labels.groups(hit))
        else:
            continue
        out.append(f"{INDENT}{labels.wit(e['created_at'])}  {text}")
    return out


def show(db: Engine, number: str, now: datetime | None = None) -> int:
    now = now or utcnow()
    with reading(db) as conn:
        row = caseviews.case_line(conn, number)
        if row is None:
            print("lk3: " + staff.text("no_such_case", number=number.strip()), file=sys.stderr)
            return 1
        names = Names(conn)
        log = caseviews.transcript(conn, row.contact_id)
        speakers = [names.speaker(r.direction, r.author) for r in log]
        conv = conversations.load(conn, row.contact_id)
        events = [{**e, "actor": names.actor(str(e["actor"]))} for e in cases.history(
            conn, row.id, row.contact_id, cases.closed_at(conn, row.previous_case_id),
            maybe_utc(row.closed_at))]
        waits = held.line(conn, row.id, row.contact_id, now, closed=row.status == "closed")
        before = earlier.line(conn, row.contact_id, row.id)
    access.record_view(db, [row.id], access.cli_actor(), "cases_show", now)  # who looked
    print("\n".join(_details(row, now, events, before)))
    if waits is not None:
        print(waits)
    said = [(r.direction, r.text or "") for r in log]
    answers = intakeview.answers(intakeview.of_case(conv, row.id, events),
                                 intakeview.asked_states(said))
    print("\n" + staff.text("show_answers", count=len(answers)))
    for question, answer in answers:
        print("\n".join(_lines(f"{INDENT}{question} → ", answer)))
    if not answers:
        print(INDENT + staff.text("show_answers_gone"))
    print("\n" + staff.text("show_transcript", count=len(log)))
    for r, who, text in zip(log, speakers, intakeview.annotate(said), strict=True):
        if not text and not r.media:
            text = staff.text("show_no_text")
        if r.truncated:
            text += " " + staff.text("show_characters", count=r.original_length)
        print("\n".join(_lines(f"{INDENT}{labels.wit(r.created_at)}  {who}: ",
                               text + _media(r.media))))
    if not log:
        print(INDENT + staff.text("show_none"))
    family: dict[datetime, list[str]] = {}
    for r in log:
        if r.direction == "in":
            family.setdefault(utc(r.created_at), []).append(r.text or "")
    danger = _danger(events, family)
    print("\n" + staff.text("show_danger", count=len(danger)))
    print("\n".join(danger or [INDENT + staff.text("show_none")]))
    print("\n" + staff.text("show_events", count=len(events)))
    kinds = [labels.word("event", str(e["kind"])) for e in events]
    actor = max([10, *(len(e["actor"]) for e in events)])
    kind = max([12, *(len(k) for k in kinds)])
    for e, k in zip(events, kinds, strict=True):
        print(f"{INDENT}{labels.wit(e['created_at'])}  {e['actor']:{actor}}  {k:{kind}}  "
              f"{summary(e['data'])}".rstrip())
    if not events:
        print(INDENT + staff.text("show_none"))
    return 0
