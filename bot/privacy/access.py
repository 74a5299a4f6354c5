"""Who looked at a case: every view writes an access record (ids and codes, never content),
and `lk3 cases audit NUMBER` lists them."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from bot.casework import labels, staff
from bot.casework.names import Names
from flows.types import LANGUAGES
from storage import accesslog, queue
from storage import privacy as store
from storage.db import reading


def cli_actor() -> str:
    """Who runs the command: the operating-system user (`cli:maria`)."""
    try:
        return f"cli:{getpass.getuser()}"[:60]
    except (KeyError, OSError):
        return "cli:?"


BREAK_GLASS_HOURS = 8  # a reason given covers that supervisor's views of the case for a shift
# Why a supervisor opens a case another counselor holds: codes, so the access records keep no
# words about the family (a reason typed freely would); each with a word per language to
# type after `/kasus NUMBER` and a description (`audit.reason.CODE`).
REASONS = ("emergency", "holder_absent", "family_request", "quality", "legal")


def reason_code(word: str) -> str | None:
    """The break-glass reason a typed word names, in any staff language (None: none)."""
    typed = word.strip().lower()
    return next((code for code in REASONS for lang in LANGUAGES
                 if staff.has(f"reason_word.{code}", lang)
                 and staff.text(f"reason_word.{code}", lang) == typed), None) if typed else None


def reason_choices(language: str = staff.STAFF_LANGUAGE) -> str:
    """"darurat (keluarga dalam bahaya), ..." for the staff member's message."""
    return ", ".join(f"{staff.text(f'reason_word.{c}', language)} "
                     f"({staff.text(f'audit.reason.{c}', language)})" for c in REASONS)


def reason_given(conn: Connection, case_id: int, actor: str, now: datetime) -> str | None:
    """The break-glass reason `actor` gave for this case within the last shift, if any."""
    return store.last_reason(conn, case_id, actor, now - timedelta(hours=BREAK_GLASS_HOURS))


def record(conn: Connection, case_ids: Iterable[int], actor: str, via: str, now: datetime,
           reason: str | None = None) -> None:
    """Inside the viewer's own transaction (the counselor's chat commands)."""
    store.record_access(conn, list(case_ids), actor, via, now, reason)


def record_view(db: Engine, case_ids: Iterable[int], actor: str, via: str, now: datetime,
                reason: str | None = None) -> None:
    """For a view that only read: on SQLite appended to the access journal at once (never
    waiting for the write lock; the scheduler moves it into the table), on PostgreSQL in a
    short transaction of its own."""
    journal = accesslog.path_of(db)
    if journal is not None:
        ids = list(case_ids)
        with reading(db) as conn:  # each line names its case's number too (storage.accesslog)
            numbers = store.numbers(conn, ids)
        accesslog.append(journal, [{"case_id": c, "number": numbers.get(c), "actor": actor,
                                    "via": via, "reason": reason, "created_at": now}
                                   for c in ids])
        return
    with db.begin() as conn:
        store.record_access(conn, list(case_ids), actor, via, now, reason)


def drain(db: Engine) -> int:
    """Journal lines into the access table (the scheduler's privacy job, `cases audit`)."""
    return accesslog.drain(db)


def audit(db: Engine, number: str, as_json: bool) -> int:
    drain(db)
    with reading(db) as conn:
        case = queue.by_number(conn, number.strip().upper())
        rows = [] if case is None else store.accesses(conn, case.id)
        names = Names(conn)
        actors = {r["actor"]: names.actor(r["actor"]) for r in rows}  # counselor:3 (Sari)
    if case is None:
        print("lk3: " + staff.text("no_such_case", number=number.strip()), file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps([{**r, "created_at": r["created_at"].isoformat().replace(
            "+00:00", "Z")} for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(staff.text("audit.none", number=case.number))
        return 0
    print(staff.text("audit.head", number=case.number, count=len(rows)))
    for r in rows:
        why = "  " + staff.text("audit.break_glass", reason=labels.word(
            "audit.reason", r["reason"])) if r["reason"] else ""
        print(f"  {labels.wit(r['created_at'])}  {actors[r['actor']]:<20}  "
              f"{labels.word('audit.via', r['via'])}{why}")
    return 0
