"""`lk3 cases list`: the open cases, most urgent first, a page at a time (a table or JSON).

The table is for staff: words in the staff language (bot.casework.labels), times in WIT, and
how many more cases there are beyond the page. `--json` is for machines: codes and UTC times
as stored. Only a page of rows is read (`storage.caseviews.case_lines`), in a read-only
transaction, so the command costs the same however many cases are stored and never holds up
a writer.
`lk3 cases show` is in bot.cli.caseshow.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.casework import labels, staff
from bot.casework.casetiming import Timing, service, timing, waited
from bot.cli import caseshow
from storage import caseviews, queue
from storage.clock import utc, utcnow
from storage.db import reading

STATUSES = ("waiting", "claimed", "closed")
DEFAULT_LIMIT = 50


def iso(value: datetime) -> str:
    return utc(value).isoformat().replace("+00:00", "Z")


def list_cases(db: Engine, status: str | None, as_json: bool, show_all: bool = False,
               limit: int | None = DEFAULT_LIMIT, now: datetime | None = None) -> int:
    """The open cases (waiting and claimed), or those of `status`, or with `show_all` every
    case (open ones first, then closed ones, most recently closed first); at most `limit`
    rows (None or 0: all), and a line saying how many more there are."""
    hours, now = service(), now or utcnow()
    statuses = (status,) if status else STATUSES if show_all else queue.OPEN
    cap = limit if limit and limit > 0 else None
    with reading(db) as conn:
        rows = caseviews.case_lines(conn, statuses, cap)
        total = queue.count(conn, statuses) if cap is not None and len(rows) == cap \
            else len(rows)
    timings = [timing(r, hours, now) for r in rows]
    more = staff.text("list_more", shown=len(rows), total=total, more=total - len(rows)) \
        if total > len(rows) else None
    if as_json:
        print(json.dumps([{
            "number": r.number, "status": r.status, "priority": r.priority,
            "reasons": list(r.reasons), "category": r.category, "distrik": r.distrik,
            "channel": r.channel, "legal_basis": r.legal_basis,
            "created_at": iso(r.created_at), "assignee": r.assignee,
            "waiting_minutes": t.waiting_minutes, "deadline": iso(t.deadline),
            "deadline_state": t.state,
        } for r, t in zip(rows, timings, strict=True)], ensure_ascii=False, indent=2))
        if more:
            print(more, file=sys.stderr)
        return 0
    if not rows:
        print(staff.text("list_none_open" if statuses == queue.OPEN else "list_none"))
        return 0
    print(table(rows, timings, now))
    if more:
        print(more)
    return 0


def table(rows: list[Any], timings: list[Timing], now: datetime) -> str:
    """The rows in columns two spaces apart, widest cell wide; reasons last, unpadded."""
    header = [staff.text("column.number"), staff.text("column.status"),
              staff.text("column.priority"), staff.text("column.category"),
              staff.text("column.distrik"), staff.text("column.created"),
              staff.text("column.assignee"), staff.text("column.waiting"),
              staff.text("column.deadline"), staff.text("column.reasons")]
    cells = [[
        r.number, labels.status(r.status), r.priority, labels.category(r.category),
        labels.distrik(r.distrik), labels.wit(r.created_at), r.assignee or "-",
        waited(t),
        t.label, labels.reasons(r.reasons)] for r, t in zip(rows, timings, strict=True)]
    widths = [max(len(line[i]) for line in (header, *cells)) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(line, widths, strict=False)),
                                line[-1]]).rstrip() for line in (header, *cells))


def show_case(db: Engine, number: str, now: datetime | None = None) -> int:
    """`lk3 cases show NUMBER` (bot.cli.caseshow), here where the CLI looks for it."""
    return caseshow.show(db, number, now)
