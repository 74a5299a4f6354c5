"""After a batch failed on one message: each message alone, retried, then set aside.

A failure that belongs to one message (a bug on its path, or data the database refuses) must
not stop every family behind it. The processor then takes each contact's oldest message in a
transaction of its own; one that fails again is counted, and after `MAX_ATTEMPTS` set aside
with a kind apology to the family (the message is kept, never lost).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from storage import inbox

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
Handle = Callable[[Connection, list[inbox.Pending]], int]
Apologise = Callable[[Connection, inbox.Pending], None]


def message_error(exc: Exception) -> bool:
    """A failure of one message, as opposed to the database being unavailable (that one
    propagates: nothing was committed, and the worker tries the whole batch again)."""
    return isinstance(exc, IntegrityError | DataError) or not isinstance(exc, SQLAlchemyError)


def one_at_a_time(db: Engine, batch: int, handle: Handle, apologise: Apologise,
                  clock: Callable[[], datetime]) -> int:
    """Each pending contact's messages alone. Returns the messages attempted, failed
    attempts included, so callers that loop until nothing is left keep going until a
    failing message is set aside."""
    attempted = 0
    with db.connect() as conn:
        keys = inbox.pending_contacts(conn, batch)
        conn.rollback()
    for key in keys:
        while (outcome := _try_head(db, key, handle, apologise, clock)) is not None:
            attempted += 1
            if outcome is False:
                break
    return attempted


def _hold(conn: Connection, key: str) -> bool:
    """The contact is this transaction's (PostgreSQL: its advisory lock; SQLite: the one
    writer already)."""
    return conn.dialect.name != "postgresql" or inbox.hold_contacts(conn, [key], 1) == [key]


def _try_head(db: Engine, key: str, handle: Handle, apologise: Apologise,
              clock: Callable[[], datetime]) -> bool | None:
    """Process the oldest pending message of one contact: True, False (failed) or None."""
    head: list[inbox.Pending] = []
    try:
        with db.begin() as conn:
            if not _hold(conn, key):
                return None
            head = inbox.pending_for(conn, key, limit=1)
            return handle(conn, head) == 1 or None
    except Exception as exc:
        if not head or not message_error(exc):
            raise
        log.exception("inbound message %s failed (attempt %d)", head[0].id,
                      head[0].attempts + 1)
        _count(db, head[0], exc, apologise, clock)
        return False


def _count(db: Engine, msg: inbox.Pending, exc: Exception, apologise: Apologise,
           clock: Callable[[], datetime]) -> None:
    """Count the failed attempt under the contact's lock; give up after MAX_ATTEMPTS."""
    with db.begin() as conn:
        if not _hold(conn, msg.contact_key):
            return  # another worker is on this contact now; it will count its own try
        current = inbox.pending_for(conn, msg.contact_key, limit=1)
        if not current or current[0].id != msg.id:
            return
        give_up = current[0].attempts + 1 >= MAX_ATTEMPTS
        inbox.record_failure(conn, msg.id, f"{type(exc).__name__}: {exc}", give_up, clock())
        if give_up:
            apologise(conn, msg)
