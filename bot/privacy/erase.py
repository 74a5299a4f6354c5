"""HAPUS done: `lk3 privacy erase REQUEST`, and legal holds (`lk3 cases hold`).

An erasure clears the family's words and addresses everywhere (storage.erasure), keeps the
case skeleton, tells the family what is gone and what remains on their phone, and asks the
provider to delete its copies. A case still open must be closed first; a case under a legal
hold defers the erasure, and the family is told why (once); the hold's release opens the
erasure again with a new due time. Erasing closes the person's other requests. Each step is
a case event. The address goes last, once the family's last notice has left the outbox
(`finish`, run by the scheduler's privacy job); a request already erased is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from bot.casework import labels, staff
from bot.privacy import notify
from bot.privacy.policy import policy
from bot.privacy.provider import Deleter, nothing, sweep
from flows.catalog import Catalog
from storage import cases, erasure, queue
from storage import privacy as store
from storage.db import reading
from storage.rows import EventRow, write_rows


@dataclass
class Outcome:
    """What a command did: its exit code and the lines for staff."""

    code: int
    lines: list[str] = field(default_factory=list)


def checked(conn: Connection, request_id: int, kind: str,
            open_only: bool = False) -> store.Request | Outcome:
    """The request, if it is one of `kind` (and, `open_only`, still open); else why not."""
    label = f"P-{request_id}"
    req = store.get(conn, request_id, lock=True)
    if req is None:
        return Outcome(1, [staff.text("privacy.unknown_request", label=label)])
    if req.kind != kind:
        return Outcome(1, [staff.text("privacy.wrong_kind", label=label,
                                      kind=notify.kind_word(req.kind),
                                      wanted=notify.kind_word(kind))])
    if open_only and req.status != "open":
        return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                      status=notify.status_word(req.status))])
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
        elif req.status == "refused":
            return Outcome(1, [staff.text("privacy.not_open", label=req.label,
                                          status=notify.status_word(req.status))])
        else:
            out = _erase(conn, req, actor, now, catalog, provider is not nothing)
            after = store.get(conn, req.id)
            erased = after is not None and after.status == "erasing"
            theirs = store.requests_of(conn, req.contact_id) if erased else []
    for other in theirs:
        for path in (exports.glob(f"privacy-P-{other}-*.json") if exports else []):
            path.unlink(missing_ok=True)
    deleted, left = sweep(db, provider, now, contact_id=req.contact_id)
    if deleted or left:
        out.lines.append(staff.text("privacy.provider_deleted", deleted=deleted, left=left))
    if theirs:  # something was erased now: no free page of the file keeps it
        erasure.compact(db)
    return out


def _erase(conn: Connection, req: store.Request, actor: str, now: datetime,
           catalog: Catalog, provider_deletes: bool) -> Outcome:
    case_ids = store.case_ids_of(conn, req.contact_id)
    req = replace(req, case_ids=case_ids)
    numbers = store.numbers(conn, case_ids)
    still = [numbers[c] for c in case_ids
             if (v := queue.by_id(conn, c)) is not None and v.status != "closed"]
    if still:
        return Outcome(1, [staff.text("privacy.open_cases", numbers=", ".join(still))])
    language = notify.language_of(conn, req)
    holds = store.holds_on(conn, case_ids)
    if holds:
        return _defer(conn, req, holds, actor, now,
                      catalog.text("privacy.deferred", language, {}))
    channel, _, _ = store.address(conn, req.contact_id)
    counts = erasure.erase(conn, req.contact_id, case_ids, now)
    key = f"privacy.erased.{channel}" if channel in ("whatsapp", "telegram") \
        else "privacy.erased.other"
    if channel == "whatsapp" and not provider_deletes:  # walk V-10: the notice said Twilio's
        key = "privacy.erased.whatsapp_kept"  # copies were deleted while none could be
    # (with a provider, they are asked to go after this notice: "sedang kami hapus")
    notify.tell_family(conn, req, catalog.text(key, language, {}), now,
                       key=f"privacy:{req.id}:erased", force=True)
    store.close(conn, req.id, "erasing", actor, now)
    notify.audit(conn, req, actor, "privacy_erased", {"counts": counts}, now)
    words = ", ".join(f"{labels.word('privacy.count', k)} {v}"  # messages: percakapan
                      for k, v in counts.items()) or "-"
    out = Outcome(0, [staff.text("privacy.erased", label=req.label, counts=words,
                                 numbers=", ".join(numbers.values()) or "-")])
    closed = _close_others(conn, req, actor, now)
    if closed:
        out.lines.append(staff.text("privacy.closed_by_erasure", requests=", ".join(
            f"{r.label} {notify.kind_word(r.kind)}" for r in closed)))
    return out


def _defer(conn: Connection, req: store.Request, holds: list[store.Hold], actor: str,
           now: datetime, body: str) -> Outcome:
    """The erasure waits for the hold; the family hears why once for the request (a
    shared phone may be read by the perpetrator: each repeat is another risk)."""
    before = _told_of_deferral(conn, req)
    why = None if before else notify.tell_family(conn, req, body, now,
                                                 key=f"privacy:{req.id}:deferred")
    store.close(conn, req.id, "deferred", actor, now, reason="hold")
    notify.audit(conn, req, actor, "privacy_erase_deferred",
                 {"holds": [h.case_id for h in holds], "told": not before and why is None,
                  "told_before": before}, now)
    told = staff.text("privacy.told_before") if before else notify.told(why)
    return Outcome(0, [staff.text("privacy.deferred", label=req.label, told=told,
                                  numbers=", ".join(h.number for h in holds))])


def _told_of_deferral(conn: Connection, req: store.Request) -> bool:
    """Whether the family heard of this request's deferral before (its audit rows say)."""
    return any(e["kind"] == "privacy_erase_deferred" and e["data"].get("request") == req.id
               and e["data"].get("told") for c in req.case_ids
               for e in cases.events_of(conn, c))


def _close_others(conn: Connection, req: store.Request, actor: str,
                  now: datetime) -> list[store.Request]:
    """The person's other requests still to do (a DATA copy, a correction, an erasure
    deferred before) closed as `erased`: nothing of theirs is left to copy, correct or
    erase, and no reminder about them should reach supervisors any more."""
    others = [r for r in store.of_contact(conn, req.contact_id, ("open", "deferred"))
              if r.id != req.id]
    for other in others:
        store.close(conn, other.id, "erased", actor, now, reason="erasure")
        notify.audit(conn, other, actor, "privacy_closed_by_erasure",
                     {"erased_by": req.id}, now)
    return others


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
            if not erasure.finish(conn, req.contact_id, req.closed_at, now):
                continue
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
            return Outcome(1, ["lk3: " + staff.text("no_such_case", number=number.strip())])
        if release:
            if not store.release(conn, case.id, actor, now):
                return Outcome(1, [staff.text("hold.none", number=case.number)])
            _event(conn, case, actor, "legal_hold_released", {}, now)
            return Outcome(0, [staff.text("hold.released", number=case.number),
                               *_reopen(conn, case.contact_id, actor, now)])
        if not reason or not reason.strip():
            return Outcome(2, [staff.text("hold.needs_reason")])
        store.hold(conn, case.id, reason.strip(), actor, now)
        _event(conn, case, actor, "legal_hold", {"reason": reason.strip()[:200]}, now)
        return Outcome(0, [staff.text("hold.set", number=case.number, reason=reason.strip())])


def reopen_released(db: Engine, now: datetime) -> int:
    """The scheduler's sweep: erasures still deferred though none of the family's cases is
    held any more (a hold released before its release reopened them), open again as a
    release does; how many."""
    with reading(db) as conn:
        contacts = {r.contact_id for r in store.listing(conn, ["deferred"])
                    if r.kind == "erase"}
    opened = 0
    for contact_id in sorted(contacts):
        with db.begin() as conn:
            if not store.holds_on(conn, store.case_ids_of(conn, contact_id)):
                opened += len(_reopen(conn, contact_id, "scheduler", now))
    return opened


def _reopen(conn: Connection, contact_id: int, actor: str, now: datetime) -> list[str]:
    """The family's erasures deferred for holds, open again once none of their cases is
    held: due a whole period (3x24 hours) from the release, as the family was promised
    erasure when the process ends and staff could do nothing before; supervisors hear as
    of a new request. Staff read which, and the command to run."""
    deferred = [r for r in store.of_contact(conn, contact_id, ("deferred",))
                if r.kind == "erase"]
    if not deferred:
        return []
    still = store.holds_on(conn, store.case_ids_of(conn, contact_id))
    if still:
        return [staff.text("hold.still_deferred", labels=", ".join(r.label for r in deferred),
                           numbers=", ".join(h.number for h in still))]
    due, lines = now + policy().due, []
    for old in deferred:
        store.reopen(conn, old.id, due)
        req = replace(old, status="open", due_at=due, reason=None)
        told = notify.alert(conn, req, "privacy.new", now,
                            key=f"privacy:{req.id}:reopened:{now.isoformat()}")
        notify.audit(conn, req, actor, "privacy_reopened",
                     {"due_at": due.isoformat(), "told": told}, now)
        lines.append(staff.text("hold.reopened", label=req.label, due=labels.wit(due),
                                left=labels.duration(due - now)))
    return lines


def _event(conn: Connection, case: queue.CaseView, actor: str, kind: str,
           data: dict[str, object], now: datetime) -> None:
    write_rows(conn, [EventRow(case.id, case.contact_id, actor, kind, data, now)])
