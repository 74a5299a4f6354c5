"""Open requests for staff (`lk3 privacy list`), and refusing one with a reason the family
is told (UU PDP Pasal 33: it would endanger someone, or reveal another person's data)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.casework import labels, staff
from bot.privacy import notify
from bot.privacy.erase import Outcome
from flows.catalog import Catalog
from storage import privacy as store
from storage import provider_copies
from storage.db import reading

REASONS = ("safety", "third_party")
OPEN = ("open", "deferred", "erasing")
ALL = (*OPEN, "done", "refused", "erased")  # erased: closed by the person's erasure


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def rows(db: Engine, show_all: bool) -> list[dict[str, Any]]:
    with reading(db) as conn:
        found = store.listing(conn, ALL if show_all else OPEN)
        out = []
        for r in found:
            channel, _, _ = store.address(conn, r.contact_id)
            numbers = store.numbers(conn, r.case_ids)
            out.append({"request": r.label, "id": r.id, "kind": r.kind, "status": r.status,
                        "contact_id": r.contact_id, "channel": channel,
                        "cases": [numbers[c] for c in r.case_ids if c in numbers],
                        "created_at": r.created_at, "due_at": r.due_at,
                        "reason": r.reason,
                        "provider_pending": provider_copies.waiting(conn, r.contact_id)})
    return out


def list_requests(db: Engine, as_json: bool, show_all: bool, now: datetime) -> int:
    found = rows(db, show_all)
    if as_json:
        print(json.dumps([{**r, "created_at": _iso(r["created_at"]), "due_at": _iso(r["due_at"]),
                           "overdue": r["status"] == "open" and now > r["due_at"]}
                          for r in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(staff.text("privacy.list_none"))
        return 0
    header = [staff.text(f"privacy.column.{c}") for c in
              ("request", "kind", "contact", "cases", "asked", "due", "status")]
    cells = [[r["request"], notify.kind_word(r["kind"]),
              staff.text("privacy.contact", id=r["contact_id"], channel=r["channel"]),
              ", ".join(r["cases"]) or "-", labels.wit(r["created_at"]),
              f"{labels.wit(r['due_at'])} ({_left(r, now)})",
              notify.status_word(r["status"])] for r in found]
    widths = [max(len(line[i]) for line in (header, *cells)) for i in range(len(header))]
    for line in (header, *cells):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return 0


def _left(r: dict[str, Any], now: datetime) -> str:
    if r["status"] != "open":
        return "-"
    if now > r["due_at"]:
        return staff.text("deadline.overdue", duration=labels.duration(now - r["due_at"]))
    return staff.text("deadline.due", duration=labels.duration(r["due_at"] - now))


def refuse(db: Engine, request_id: int, reason: str, actor: str, now: datetime,
           catalog: Catalog) -> Outcome:
    """Refused with a reason (`REASONS`); the family is told it in their language."""
    with db.begin() as conn:
        req = store.get(conn, request_id, lock=True)
        if req is None:
            return Outcome(1, [staff.text("privacy.unknown_request", label=f"P-{request_id}")])
        if req.status not in ("open", "deferred"):
            return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                          status=notify.status_word(req.status))])
        language = notify.language_of(conn, req)
        body = catalog.text(f"privacy.refused.{reason}", language, {
            "kind": catalog.text(f"privacy.kind.{req.kind}", language, {})})
        why = notify.tell_family(conn, req, body, now, key=f"privacy:{req.id}:refused")
        store.close(conn, req.id, "refused", actor, now, reason=reason)
        notify.audit(conn, req, actor, "privacy_refused", {"reason": reason,
                                                           "told": why is None}, now)
    told = notify.told(why)
    return Outcome(0, [staff.text("privacy.refused", label=req.label, told=told,
                                  reason=staff.text(f"privacy_reason.{reason}"))])
