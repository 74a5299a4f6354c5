"""DATA, UBAH or HAPUS from a family: a request with a due time, supervisors told at once.

Runs as the `privacy_request` effect (bot.pipeline.effects), under the processor's write
lock, so the request row and the alerts commit with the family's reply or not at all. The
same right asked again while its request is open adds nothing (the audit row says which
request it is).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.privacy import notify
from bot.privacy.policy import policy
from storage import privacy as store


def requested(conn: Connection, contact_id: int, language: str, kind: str,
              now: datetime) -> dict[str, Any]:
    """The request for `kind` (data | correct | erase) made, or the open one found; the
    audit data: which request, when due, who was told."""
    same = store.open_of(conn, contact_id, kind)
    if same is not None:
        return {"request": same.id, "again": True}
    due = now + policy().due
    request_id = store.create(conn, contact_id=contact_id, kind=kind, language=language,
                              now=now, due_at=due)
    req = store.get(conn, request_id)
    assert req is not None
    told = notify.alert(conn, req, "privacy.new", now, key=f"privacy:{req.id}:0")
    return {"request": req.id, "due_at": due.isoformat(), "told": told}
