"""Workers woken when work arrives, instead of waiting out their poll interval.

A `Bell` is a nudge, never state: a worker that hears it looks in the database, which stays
the only truth; one that misses it finds the work at its next poll (the fallback). In one
process, storing an inbound message rings `INBOX` (the processor), and a processor batch
that wrote rows rings `OUTBOX` (the relay). Across processes on PostgreSQL, storing a
message sends NOTIFY (storage.inbox) and `listen` turns it into a ring of `INBOX`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from storage.inbox import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Bell:
    def __init__(self) -> None:
        self._rung = threading.Event()

    def ring(self) -> None:
        self._rung.set()

    def wait(self, timeout: float) -> bool:
        """Until rung or `timeout` seconds; True when rung (and ready to be rung again)."""
        rung = self._rung.wait(timeout)
        self._rung.clear()
        return rung


INBOX = Bell()
OUTBOX = Bell()
ON_INBOUND: list[Callable[[], None]] = []  # more to tell (`lk3 serve` tells its children)


def inbound() -> None:
    """An adapter stored a new message: the processors look now."""
    INBOX.ring()
    for tell in ON_INBOUND:
        tell()


def listen(db: Engine, bell: Bell, stop: threading.Event) -> threading.Thread | None:
    """PostgreSQL: a daemon thread that rings `bell` at every NOTIFY of a stored inbound
    message, until `stop` is set; None on other databases (one process stores and
    processes there, or the poll finds it). It also rings once each time it starts
    listening, for messages stored before (at start-up, or while it was reconnecting)."""
    if db.dialect.name != "postgresql":
        return None

    def run() -> None:
        import psycopg

        url = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    bell.ring()  # what was stored before this LISTEN: look once now
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            bell.ring()
            except Exception:
                log.warning("listening for new messages failed; polling meanwhile")
                stop.wait(5.0)

    thread = threading.Thread(target=run, name="lk3-listen", daemon=True)
    thread.start()
    return thread
