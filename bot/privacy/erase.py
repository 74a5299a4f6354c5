"""HAPUS done: `lk3 privacy erase REQUEST`, and legal holds (`lk3 cases hold`).

An erasure clears the family's words and addresses everywhere (storage.erasure), keeps the
case skeleton, tells the family what is gone and what remains on their phone, and asks the
provider to delete its copies. A case still open must be closed first; a case under a legal
hold defers the erasure, and the family is told why. Each step is a case event. The
address goes last, once the family's last notice has left the outbox (`finish`, run by the
scheduler's privacy job); a request already erased is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from bot.casework import staff
from bot.privacy import notify
from bot.privacy.provider import Deleter
from flows.catalog import Catalog
from storage import erasure, queue
from storage import privacy as store
from storage.db import reading
from storage.rows import EventRow, write_rows


@dataclass
class Outcome:
    """What a command did: its exit code and the lines for staff."""

    code: int
    lines: list[str] = field(default_factory=list)


def checked(conn: Connection, request_id: int, kind: str) -> store.Request | Outcome:
    label = f"P-{request_id}"
    req = store.get(conn, request_id, lock=True)
    if req is None:
        return Outcome(1, [staff.text("privacy.unknown_request", label=label)])
    if req.kind != kind:
        return Outcome(1, [staff.text("privacy.wrong_kind", label=label,
                                      kind=notify.kind_word(req.kind),
                                      wanted=notify.kind_word(kind))])
    return req


def erase(db: Engine, request_id: int, actor: str, now: datetime, catalog: Catalog,
          provider: Deleter, exports: Path | None = None) -> Outcome:
    """The family's data erased (or deferred by a hold); their DATA copies in `exports`
    deleted too; the provider asked to delete its copies."""
    theirs: list[int] = []
    with db.begin() as conn:
        req = checked(conn, request_id, "erase")
        if isinstance(req, Outcome):
            return req
        if req.status in ("done", "erasing"):
            out = Outcome(0, [staff.text("privacy.erase_done", label=req.label)])
            pending = req.provider_pending
        elif req.status == "refused":
            return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                          status=notify.status_word(req.status))])
        else:
            out, pending = _erase(conn, req, actor, now, catalog)
            after = store.get(conn, req.id)
            erased = after is not None and after.status == "erasing"
            theirs = store.requests_of(conn, req.contact_id) if erased else []
    for other in theirs:
        for path in (exports.glob(f"privacy-P-{other}-*.json") if exports else []):
            path.unlink(missing_ok=True)
    if pending:
        left = provider(pending)
        with db.begin() as conn:
            store.set_pending(conn, request_id, left)
        out.lines.append(staff.text("privacy.provider_deleted",
                                    deleted=len(pending) - len(left), left=len(left)))
    if theirs:  # something was erased now: no free page of the file keeps it
        erasure.compact(db)
    return out


def _erase(conn: Connection, req: store.Request, actor: str, now: datetime,
           catalog: Catalog) -> tuple[Outcome, list[str]]:
    case_ids = store.case_ids_of(conn, req.contact_id)
    req = replace(req, case_ids=case_ids)
    numbers = store.numbers(conn, case_ids)
    still = [numbers[c] for c in case_ids
             if (v := queue.by_id(conn, c)) is not None and v.status != "closed"]
    if still:
        return Outcome(1, [staff.text("privacy.open_cases", numbers=", ".join(still))]), []
    language = notify.language_of(conn, req)
    holds = store.holds_on(conn, case_ids)
    if holds:
        why = notify.tell_family(conn, req, catalog.text("privacy.deferred", language, {}),
                                 now, key=f"privacy:{req.id}:deferred:{now.isoformat()}")
        store.close(conn, req.id, "deferred", actor, now, reason="hold")
        notify.audit(conn, req, actor, "privacy_erase_deferred",
                     {"holds": [h.case_id for h in holds], "told": why is None}, now)
        told = staff.text("privacy.told_yes") if why is None else \
            staff.text("privacy.told_no", why=why)
        return Outcome(0, [staff.text("privacy.deferred", label=req.label, told=told,
                                      numbers=", ".join(h.number for h in holds))]), []
    channel, user, _ = store.address(conn, req.contact_id)
    found = erasure.provider_ids(conn, req.contact_id, channel, user)
    counts = erasure.erase(conn, req.contact_id, case_ids, now)
    key = f"privacy.erased.{channel}" if channel in ("whatsapp", "telegram") \
        else "privacy.erased.other"
    notify.tell_family(conn, req, catalog.text(key, language, {}), now,
                       key=f"privacy:{req.id}:erased", force=True)
    store.close(conn, req.id, "erasing", actor, now)
    store.set_pending(conn, req.id, found)
    notify.audit(conn, req, actor, "privacy_erased", {"counts": counts}, now)
    words = ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"
    return Outcome(0, [staff.text("privacy.erased", label=req.label, counts=words,
                                  numbers=", ".join(numbers.values()) or "-")]), found


def finish_all(db: Engine, now: datetime) -> int:
    """Erasures whose last notice has left the outbox: the address removed too, the
    request done (the provider's copies of the notice join those still to delete)."""
    done = 0
    with reading(db) as conn:
        erasing = [r.id for r in store.listing(conn, ("erasing",))]
    for request_id in erasing:
        with db.begin() as conn:
            req = store.get(conn, request_id, lock=True)
            if req is None or req.status != "erasing" or req.closed_at is None:
                continue
            ids = erasure.finish(conn, req.contact_id, req.closed_at)
            if ids is None:
                continue
            store.set_pending(conn, req.id, [*req.provider_pending, *ids])
            store.close(conn, req.id, "done", req.closed_by or "scheduler", req.closed_at)
            done += 1
    if done:
        erasure.compact(db, vacuum=False)
    return done


# -- legal holds --------------------------------------------------------------------------------

def hold(db: Engine, number: str, reason: str | None, actor: str, now: datetime,
         release: bool = False) -> Outcome:
    with db.begin() as conn:
        case = queue.by_number(conn, number.strip().upper())
        if case is None:
            return Outcome(1, [f"lk3: no case {number.strip()}; `lk3 cases list` shows the "
                               "numbers."])
        if release:
            if not store.release(conn, case.id, actor, now):
                return Outcome(1, [staff.text("hold.none", number=case.number)])
            _event(conn, case, actor, "legal_hold_released", {}, now)
            return Outcome(0, [staff.text("hold.released", number=case.number)])
        if not reason or not reason.strip():
            return Outcome(2, [staff.text("hold.needs_reason")])
        store.hold(conn, case.id, reason.strip(), actor, now)
        _event(conn, case, actor, "legal_hold", {"reason": reason.strip()[:200]}, now)
        return Outcome(0, [staff.text("hold.set", number=case.number, reason=reason.strip())])


def _event(conn: Connection, case: queue.CaseView, actor: str, kind: str,
           data: dict[str, object], now: datetime) -> None:
    write_rows(conn, [EventRow(case.id, case.contact_id, actor, kind, data, now)])
