"""DATA: the family's copy of what they told us and what we recorded, in their language.

`lk3 privacy export REQUEST` builds it, keeps a JSON copy for the office (mode 600, in the
exports folder) and prints the text for staff to review; `--send` sends that reviewed copy
in the chat through the outbox (split as the channel needs, in order) and closes the request.
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
from flows.catalog import Catalog
from storage import conversations
from storage import privacy as store
from storage import privacy_views as views
from storage.db import reading

LEFT_OUT = ("note",)  # event kinds that are staff's own working notes


def build(conn: Connection, req: store.Request, catalog: Catalog, language: str,
          now: datetime) -> dict[str, Any]:
    conv = conversations.load(conn, req.contact_id)
    log = views.messages(conn, req.contact_id)
    said = [(r["direction"], r["text"]) for r in log]
    answers = intakeview.answers(conv.answers, intakeview.asked_states(said), language) \
        if conv is not None else []
    case_ids = store.case_ids_of(conn, req.contact_id)
    return {
        "request": req.label, "made_at": now.isoformat(), "language": language,
        "answers": [{"question": q, "answer": a} for q, a in answers],
        "messages": [{"at": r["created_at"].isoformat(), "text": r["text"]}
                     for r in log if r["direction"] == "in" and r["text"]],
        "cases": views.cases(conn, case_ids),
        "consents": views.consents(conn, req.contact_id),
        "subscriptions": views.subscriptions(conn, req.contact_id),
        "referrals": views.referrals(conn, case_ids),
        "history": [e for e in views.history(conn, req.contact_id, case_ids)
                    if e["kind"] not in LEFT_OUT],
    }


def text(copy: dict[str, Any], catalog: Catalog) -> str:
    """The copy as the family reads it on a phone: short sections, times in WIT."""
    lang = copy["language"]

    def t(key: str, **params: Any) -> str:
        return catalog.text(f"privacy.export.{key}", lang, params)

    def when(iso: str) -> str:
        return labels.wit(datetime.fromisoformat(iso))

    none = t("none")
    out = [t("head", when=when(copy["made_at"])), "", t("answers")]
    out += [f"• {a['question']} → {a['answer']}" for a in copy["answers"]] or [none]
    out += ["", t("messages")]
    out += [f"• {when(m['at'])}: {m['text']}" for m in copy["messages"]] or [none]
    out += ["", t("cases")]
    for c in copy["cases"]:
        out.append(t("case_line", number=c["number"], priority=c["priority"],
                     opened=when(c["opened"]),
                     status=t("status.closed" if c["status"] == "closed" else "status.open")))
        out.append(t("case_reasons", reasons=labels.reasons(c["reasons"], lang)))
    out += [none] if not copy["cases"] else []
    out += ["", t("consents")]
    out += [t("consent_line", when=when(c["at"]), choice=c["choice"], version=c["version"],
              basis=labels.basis(c["basis"], lang)) for c in copy["consents"]] or [none]
    for sub in copy.get("subscriptions", []):
        topic = catalog.text(f"list.broadcast_topics.{sub['topic']}", lang)
        out.append(t("subscription_line", topic=topic, when=when(sub["at"]),
                     version=sub["version"]) + (
            " " + t("subscription_ended", when=when(sub["ended"])) if sub["ended"] else ""))
    out += ["", t("referrals")]
    out += [t("referral_line", when=when(r["at"]), institution=r["institution"],
              basis=labels.basis(r["basis"], lang)) for r in copy["referrals"]] or [none]
    out += ["", t("history")]
    out += [t("history_line", when=when(e["at"]), what=labels.word("event", e["kind"], lang),
              who=t("who.staff" if e["by"] == "staff" else "who.bot"))
            for e in copy["history"]] or [none]
    return "\n".join([*out, "", t("end")])


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
           send: bool, actor: str) -> Outcome:
    if send:
        return _send(db, request_id, folder, catalog, now, actor)
    with reading(db) as conn:
        req = checked(conn, request_id, "data")
        if isinstance(req, Outcome):
            return req
        if req.status != "open":
            return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                          status=notify.status_word(req.status))])
        copy = build(conn, req, catalog, notify.language_of(conn, req), now)
        case_ids = store.case_ids_of(conn, req.contact_id)
    path = _write(folder, req, copy, now)
    access.record_view(db, case_ids, actor, "export", now)
    return Outcome(0, [staff.text("privacy.export_written", label=req.label, path=str(path)),
                       "", text(copy, catalog)])


def _send(db: Engine, request_id: int, folder: Path, catalog: Catalog, now: datetime,
          actor: str) -> Outcome:
    with db.begin() as conn:
        req = checked(conn, request_id, "data")
        if isinstance(req, Outcome):
            return req
        if req.status != "open":
            return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                          status=notify.status_word(req.status))])
        kept = copies(folder, req.label)
        if not kept:
            return Outcome(1, [staff.text("privacy.export_first", label=req.label)])
        copy = json.loads(kept[-1].read_text(encoding="utf-8"))
        body = text(copy, catalog)
        why = notify.tell_family(conn, req, body, now, key=f"privacy:{req.id}:export")
        if why is not None:
            return Outcome(1, [staff.text("privacy.told_no", why=why)])
        parts = views.outbox_parts(conn, f"privacy:{req.id}:export")
        store.close(conn, req.id, "done", actor, now)
        notify.audit(conn, req, actor, "privacy_export_sent", {"parts": parts}, now)
    return Outcome(0, [staff.text("privacy.export_sent", label=req.label, parts=parts)])
