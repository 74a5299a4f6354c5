"""Who hears of a privacy request: supervisors (staff texts), and the family (their catalog,
their language, through the outbox like any notice of the service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.casework import labels, staff
from bot.channels.split import split_reply
from bot.pipeline.held import why_not
from flows.catalog import Catalog
from storage import cases, conversations, counselors, outbox
from storage import privacy as store
from storage.rows import EventRow, write_rows


def kind_word(kind: str) -> str:
    return staff.text(f"privacy_kind.{kind}") if staff.has(f"privacy_kind.{kind}") else kind


def status_word(status: str) -> str:
    key = f"privacy_status.{status}"
    return staff.text(key) if staff.has(key) else status


def told(why: str | None, yes: str = "privacy.told_yes") -> str:
    """What staff read about telling the family: told (`yes`, a staff text), or not and
    why, in words (`why`: bot.pipeline.held.why_not's code)."""
    if why is None:
        return staff.text(yes)
    return staff.text("privacy.told_no", why=labels.word("privacy.why_not", why))


def case_words(conn: Connection, req: store.Request) -> str:
    numbers = store.numbers(conn, req.case_ids)
    return ", ".join(numbers[i] for i in req.case_ids if i in numbers) or \
        staff.text("privacy.no_cases")


def recipients(conn: Connection) -> list[int]:
    """Every supervisor; with none, whoever is on duty; with nobody on duty either, every
    staff member (a request nobody hears of misses its deadline unseen)."""
    roster = counselors.roster(conn)
    return list(roster.supervisors) or list(roster.on_duty) or \
        [c.id for c in counselors.active(conn)]


def alert(conn: Connection, req: store.Request, text_key: str, now: datetime,
          key: str) -> list[int]:
    """Tell supervisors about a request (new, near its due time, overdue); who was told."""
    words = {"label": req.label, "kind": kind_word(req.kind), "cases": case_words(conn, req),
             "due": labels.wit(req.due_at), "left": labels.duration(req.due_at - now),
             "late": labels.duration(now - req.due_at)}
    body = staff.text(text_key, **words)
    return [cid for cid in recipients(conn)
            if staff.send(conn, cid, body, now, key=f"{key}:{cid}")]


def language_of(conn: Connection, req: store.Request) -> str:
    conv = conversations.load(conn, req.contact_id)
    return conv.language if conv is not None else req.language


def tell_family(conn: Connection, req: store.Request, body: str, now: datetime,
                key: str, force: bool = False) -> str | None:
    """The family hears `body` (split as their channel needs); None when told, else why not
    (stopped, paused, left with KELUAR: someone else may hold the phone). `force`: an
    erasure's last notice, which goes unless the contact stopped or cannot be reached."""
    conv = conversations.load(conn, req.contact_id)
    why = why_not(conn, req.contact_id, conv, _events(conn, req))
    if why is not None and not (force and why in ("paused", "contact_constraint")):
        return why
    channel, user, _ = conversations.contact(conn, req.contact_id)
    case_id = req.case_ids[-1] if req.case_ids else None
    rows: list[dict[str, Any]] = [{
        "channel": channel, "recipient": user, "contact_id": req.contact_id,
        "case_id": case_id, "payload": {"text": part, "choices": []},
        "dedupe_key": key if n == 0 else f"{key}:{n}"}
        for n, (part, _) in enumerate(split_reply(channel, body, []))]
    outbox.enqueue(conn, rows, now)
    cases.log_messages(conn, [{
        "contact_id": req.contact_id, "case_id": case_id, "inbox_id": None,
        "direction": "out", "text": r["payload"]["text"], "truncated": False,
        "original_length": len(r["payload"]["text"]), "media": None, "created_at": now,
        "author": "bot"} for r in rows])
    return None


def _events(conn: Connection, req: store.Request) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for case_id in req.case_ids:
        out += cases.events_of(conn, case_id)
    return sorted(out, key=lambda e: e["created_at"])


def family_text(catalog: Catalog, key: str, language: str, **params: Any) -> str:
    return catalog.text(key, language, params)


def audit(conn: Connection, req: store.Request, actor: str, kind: str, data: dict[str, Any],
          now: datetime) -> None:
    """One audit row per case of the request (one without a case when it has none)."""
    write_rows(conn, [EventRow(c, req.contact_id, actor, kind, {"request": req.id, **data}, now)
                      for c in (list[int | None](req.case_ids) or [None])])
