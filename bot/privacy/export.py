"""DATA: the family's copy of what they told us and what we recorded, in their language.

`lk3 privacy export REQUEST` builds it, keeps a JSON copy for the office (mode 600, in the
exports folder) and prints the text for staff to review; `--send` sends that reviewed copy
in the chat through the outbox (split as the channel needs, in order) and closes the request;
`--handed-over` closes it without sending, when staff gave the copy in person (a family that
left with KELUAR or stopped is never written to). The family reads words, not codes: their
consent choices, the places they were referred to, what each number they typed chose.
Left out: counselors' internal notes, referral reasons staff wrote, other people's data.
Each export writes an access record on the family's cases.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from bot.casework import intakeview, labels, staff
from bot.privacy import access, notify
from bot.privacy.erase import Outcome, checked
from flows.actions import BY_OTHER, INSTITUTION_TEXT, OTHER_AUTHOR, SKIP_WORDS, case_answers
from flows.catalog import Catalog
from flows.definition import StateSpec
from flows.hours import service_hours
from flows.text import keyword
from flows.types import DEFAULT_LANGUAGE
from storage import cases, conversations
from storage import privacy as store
from storage import privacy_views as views
from storage.clock import utc
from storage.db import reading

# event kinds left out: staff's own working notes; that someone else wrote on the phone, and
# that the owner wrote again after them (it would tell the owner what that person may need
# kept from them)
LEFT_OUT = ("note", "other_writer", "owner_writes")


def build(conn: Connection, req: store.Request, catalog: Catalog, language: str,
          now: datetime) -> dict[str, Any]:
    conv = conversations.load(conn, req.contact_id)
    log = views.messages(conn, req.contact_id)
    said = [(r["direction"], r["text"]) for r in log]
    given = case_answers(conv.answers, conv.case_number) if conv is not None else {}
    theirs = set(conv.answers.get(BY_OTHER) or ()) if conv is not None else set()
    case_ids = store.case_ids_of(conn, req.contact_id)
    for case_id in reversed(case_ids if not given else []):  # kept with a closed case
        if given := intakeview.of_case(None, case_id, cases.events_of(conn, case_id)):
            break
    answers = intakeview.answers({k: v for k, v in given.items() if k not in theirs},
                                 intakeview.asked_states(said), language)
    others = sum(1 for r in log if r["direction"] == "in" and r["author"] == OTHER_AUTHOR)
    return {
        "request": req.label, "made_at": now.isoformat(), "language": language,
        "answers": [{"question": q, "answer": a} for q, a in answers],
        "messages": _messages(log, catalog, language),
        "cases": views.cases(conn, case_ids),
        "consents": views.consents(conn, req.contact_id),
        "subscriptions": views.subscriptions(conn, req.contact_id),
        "referrals": views.referrals(conn, case_ids),
        "history": [e for e in views.history(conn, req.contact_id, case_ids)
                    if e["kind"] not in LEFT_OUT],
        "left_out": {"other_writer_messages": others,  # for staff, never in the text
                     "other_writer_answers": len(theirs & set(given))},
    }


def _messages(log: list[dict[str, Any]], catalog: Catalog,
              language: str) -> list[dict[str, Any]]:
    """The family's own texts; a number or skip word that answered a question keeps what it
    meant in their language (`2`: `Tidak`, `LEWATI`: `dilewati`), as staff views do. Not
    the messages of someone else who said they wrote on this phone (another person's data:
    a walk-through's girl of 16 told of sexual violence on her mother's phone)."""
    q, asked, out = intakeview.questions(), None, []
    for r in log:
        if r["direction"] == "out":
            asked = q.asked(r["text"]) or asked
        elif r["text"] and r["author"] != OTHER_AUTHOR:
            said = {"at": r["created_at"].isoformat(), "text": r["text"]}
            meant = _meant(q, asked, r["text"], catalog, language)
            if meant:  # answered: what they send next is not its answer again (walk V-11:
                asked = None  # a "1" after DATA read "1 (Iya, saya mau)")
            out.append({**said, "meant": meant} if meant else said)
    return out


def _meant(q: intakeview.Questions, asked: StateSpec | None, said: str, catalog: Catalog,
           language: str) -> str | None:
    if asked is None:
        return None
    if asked.skippable and keyword(said, SKIP_WORDS):
        return catalog.text("privacy.export.skipped", language)
    return q.choice(asked, said, language)


def _wit(iso: str, catalog: Catalog | None = None, language: str = DEFAULT_LANGUAGE) -> str:
    """A time as a family reads it, in WIT: `30 November 2026, 09.54` (`09:54` in English),
    not `2026-11-30 09:54` (walk V-11); the texts around it say `WIT`."""
    local = utc(datetime.fromisoformat(iso)).astimezone(service_hours().tz)
    if catalog is None:
        return labels.wit(local)
    months = catalog.text("privacy.export.months", language).split()
    return catalog.text("privacy.export.date", language, {
        "day": local.day, "month": months[local.month - 1], "year": local.year,
        "hour": f"{local.hour:02d}", "minute": f"{local.minute:02d}"})


class _Words:
    """The copy's words in the family's language for what is stored as a code: the copy's
    own text first, then the words the family saw or staff read; a code with none (a value
    from an older version) is shown as it is."""

    def __init__(self, catalog: Catalog, lang: str) -> None:
        self.catalog, self.lang = catalog, lang
        self.none = self.t("none")

    def t(self, key: str, **params: Any) -> str:
        return self.catalog.text(f"privacy.export.{key}", self.lang, params)

    def own(self, key: str) -> str | None:
        table = self.catalog.texts.get(self.lang) or self.catalog.texts[DEFAULT_LANGUAGE]
        return table.get(key)

    def consent(self, choice: str) -> str:  # agree_refer: the choice's label as they saw it
        return self.own(f"privacy.export.consent.{choice}") or \
            self.own(f"consent.{choice}") or choice

    def basis(self, code: str) -> str:
        return self.own(f"privacy.export.basis.{code}") or labels.basis(code, self.lang)

    def institution(self, code: str) -> str:
        return self.own(f"{INSTITUTION_TEXT}{code}") or \
            labels.institution(code)

    def event(self, kind: str) -> str:
        key = f"event.{kind}"
        return self.own(f"privacy.export.{key}") or \
            (staff.text(key, self.lang) if staff.has(key, self.lang) else self.t("event_other"))

    def when(self, iso: str) -> str:
        return _wit(iso, self.catalog, self.lang)

    def message(self, m: dict[str, Any]) -> str:
        meant = f" ({m['meant']})" if m.get("meant") else ""
        return f"• {self.when(m['at'])}: {m['text']}{meant}"


def text(copy: dict[str, Any], catalog: Catalog) -> str:
    """The copy as the family reads it on a phone: short sections, times in WIT, words for
    every code."""
    w = _Words(catalog, copy["language"])
    out = [w.t("head", when=w.when(copy["made_at"])), "", w.t("answers")]
    out += [f"• {a['question']} → {a['answer']}" for a in copy["answers"]] or [w.none]
    out += ["", w.t("messages"), *([w.message(m) for m in copy["messages"]] or [w.none])]
    out += ["", w.t("cases"), *_cases(copy["cases"], w), "", w.t("consents"), *_consents(copy, w)]
    out += ["", w.t("referrals")]
    out += [w.t("referral_line", when=w.when(r["at"]), institution=w.institution(r["institution"]),
                basis=w.basis(r["basis"])) for r in copy["referrals"]] or [w.none]
    out += ["", w.t("history")]
    out += [w.t("history_line", when=w.when(e["at"]), what=w.event(e["kind"]),
                who=w.t("who.staff" if e["by"] == "staff" else "who.bot"))
            for e in copy["history"]] or [w.none]
    return "\n".join([*out, "", w.t("end")])


# a waiting case is not yet "sedang ditangani" (a walk-through's family read that while no
# one had taken it)
_STATUS = {"waiting": "status.waiting", "closed": "status.closed"}


def _cases(cases: list[dict[str, Any]], w: _Words) -> list[str]:
    out = []
    for c in cases:
        out.append(w.t("case_line", number=c["number"], opened=w.when(c["opened"]),
                       priority=w.own(f"privacy.export.priority.{c['priority']}") or c["priority"],
                       status=w.t(_STATUS.get(c["status"], "status.open"))))
        out.append(w.t("case_reasons", reasons=labels.reasons(c["reasons"], w.lang)))
    return out or [w.none]


def _consents(copy: dict[str, Any], w: _Words) -> list[str]:
    out = [w.t("consent_line", when=w.when(c["at"]), choice=w.consent(c["choice"]),
               version=c["version"], basis=w.basis(c["basis"]))
           for c in copy["consents"]] or [w.none]
    for sub in copy.get("subscriptions", []):
        topic = w.catalog.text(f"list.broadcast_topics.{sub['topic']}", w.lang)
        ended = " " + w.t("subscription_ended", when=w.when(sub["ended"])) if sub["ended"] else ""
        out.append(w.t("subscription_line", topic=topic, when=w.when(sub["at"]),
                       version=sub["version"]) + ended)
    return out


def _write(folder: Path, req: store.Request, copy: dict[str, Any], now: datetime) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"privacy-{req.label}-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(copy, f, ensure_ascii=False, indent=2)
    os.chmod(path, 0o600)
    return path


def copies(folder: Path, label: str) -> list[Path]:
    return sorted(folder.glob(f"privacy-{label}-*.json"))


def export(db: Engine, request_id: int, folder: Path, catalog: Catalog, now: datetime,
           send: bool, actor: str, handed_over: bool = False) -> Outcome:
    """The copy written for review; `send`: the reviewed copy sent in the chat;
    `handed_over`: staff gave it in person, the request closes and nothing is sent."""
    if send and handed_over:
        return Outcome(2, [staff.text("privacy.export_send_or_handed_over")])
    if send or handed_over:
        return _deliver(db, request_id, folder, catalog, now, actor, handed_over)
    with reading(db) as conn:
        req = checked(conn, request_id, "data", open_only=True)
        if isinstance(req, Outcome):
            return req
        copy = build(conn, req, catalog, notify.language_of(conn, req), now)
        case_ids = store.case_ids_of(conn, req.contact_id)
    path = _write(folder, req, copy, now)
    access.record_view(db, case_ids, actor, "export", now)
    left = copy["left_out"]
    others, answered = left["other_writer_messages"], left.get("other_writer_answers", 0)
    warning = [staff.text("privacy.export_other_writer", n=others, answers=answered)] \
        if others or answered else []
    return Outcome(0, [staff.text("privacy.export_written", label=req.label, path=str(path)),
                       *warning, "", text(copy, catalog)])


def _reviewed(conn: Connection, request_id: int,
              folder: Path) -> tuple[store.Request, Path] | Outcome:
    """The open DATA request and its latest reviewed copy, or why there is none."""
    req = checked(conn, request_id, "data", open_only=True)
    if isinstance(req, Outcome):
        return req
    kept = copies(folder, req.label)
    if not kept:
        return Outcome(1, [staff.text("privacy.export_first", label=req.label)])
    return req, kept[-1]


def _deliver(db: Engine, request_id: int, folder: Path, catalog: Catalog, now: datetime,
             actor: str, handed_over: bool) -> Outcome:
    with db.begin() as conn:
        found = _reviewed(conn, request_id, folder)
        if isinstance(found, Outcome):
            return found
        req, path = found
        if handed_over:
            store.close(conn, req.id, "done", actor, now)
            notify.audit(conn, req, actor, "privacy_export_handed_over", {"copy": path.name},
                         now)
            return Outcome(0, [staff.text("privacy.export_handed_over", label=req.label)])
        body = text(json.loads(path.read_text(encoding="utf-8")), catalog)
        why = notify.tell_family(conn, req, body, now, key=f"privacy:{req.id}:export")
        if why is not None:
            return Outcome(1, [_not_sent(req.label, why)])
        parts = views.outbox_parts(conn, f"privacy:{req.id}:export")
        store.close(conn, req.id, "done", actor, now)
        notify.audit(conn, req, actor, "privacy_export_sent", {"parts": parts}, now)
    return Outcome(0, [staff.text("privacy.export_sent", label=req.label, parts=parts)])


def _not_sent(label: str, why: str) -> str:
    """For staff: why the family cannot be written to (KELUAR, BERHENTI...), in words, and
    what to do instead (give the copy in person, then `--handed-over`)."""
    return staff.text("privacy.export_not_sent", label=label,
                      why=labels.word("privacy.why_not", why))
