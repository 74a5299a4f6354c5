"""`lk3 cases list`: the queue as a table or as JSON."""

from __future__ import annotations

import json
from datetime import timedelta, timezone

from sqlalchemy import Engine

from storage import cases

WIT = timezone(timedelta(hours=9))


def list_cases(db: Engine, status: str | None, as_json: bool) -> int:
    with db.connect() as conn:
        rows = cases.list_cases(conn, status)
    if as_json:
        print(json.dumps([{
            "number": r.number, "status": r.status, "priority": r.priority,
            "reasons": r.reasons, "category": r.category, "distrik": r.distrik,
            "channel": r.channel, "legal_basis": r.legal_basis,
            "created_at": r.created_at.isoformat().replace("+00:00", "Z"),
        } for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no cases")
        return 0
    print(f"{'NUMBER':16} {'STATUS':8} {'PRI':3} {'CATEGORY':10} {'DISTRIK':18} "
          f"{'CREATED (WIT)':16} REASONS")
    for r in rows:
        created = r.created_at.astimezone(WIT).strftime("%Y-%m-%d %H:%M")
        print(f"{r.number:16} {r.status:8} {r.priority:3} {r.category or '-':10} "
              f"{r.distrik or '-':18} {created:16} {'; '.join(r.reasons)}")
    return 0
