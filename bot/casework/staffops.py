"""Staff accounts, for both front ends: `lk3 counselor ...` (bot.cli.counselorcli) and the
console's staff page (bot.console.staffpage). Each refusal is a reason code the front end
words in its own way."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection

from bot.casework import alerts, caseops
from flows.catalog import Catalog
from storage import counselors, queue, staffauth
from storage.queue import CaseView
from storage.rows import EventRow, write_rows

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,39}")


def new_account_problem(conn: Connection, name: str, username: str | None) -> str | None:
    """Why a new staff member cannot be added under this name and console username:
    name_empty, name_taken, username_invalid, username_taken; None when they can."""
    if not name:
        return "name_empty"
    if counselors.ids_named(conn, name):
        return "name_taken"
    if username is not None and not USERNAME.fullmatch(username):
        return "username_invalid"
    if staffauth.username_taken(conn, username or name):
        return "username_taken"
    return None


def remove(conn: Connection, person_id: int, now: datetime, actor: str,
           family_texts: Catalog) -> list[CaseView]:
    """Remove a staff member: history kept, console sessions ended, the cases they hold back
    in the queue in their old place (staff alerted, each family told plainly)."""
    held = queue.held_by(conn, person_id)
    for case in held:
        caseops.requeue(conn, family_texts, case, now)
        fresh = queue.by_id(conn, case.id)
        if fresh is not None:
            alerts.announce(conn, fresh, now, key="requeued_case.removed")  # not "Kasus baru"
    if held:
        write_rows(conn, [EventRow(case.id, case.contact_id, actor, "release",
                                   {"counselor_id": person_id, "reason": "counselor_removed"},
                                   now) for case in held])
    counselors.remove(conn, person_id, now)
    staffauth.revoke_all(conn, person_id, now)
    return held
