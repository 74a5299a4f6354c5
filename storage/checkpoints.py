"""SQLite: the write-ahead log copied into the database file by a thread of `lk3 serve`,
off the writers' path.

Left to SQLite, the commit that takes the log past `wal_autocheckpoint` pages copies it
into the database file before it returns, and our writers' turn (storage/turns.py) is held
until then: every other writer waits for that copy. In `lk3 serve` this thread copies the
log every `EVERY` seconds with a PASSIVE checkpoint instead, on a connection of its own that
takes no turn and no write lock (SQLite lets writers and readers go on meanwhile), so the
copy never stands between a family's message and its reply. The writers' own
`wal_autocheckpoint` stays as the net for processes without this thread (CLI commands,
`lk3 process`) and for a log that grows faster than the thread copies it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)
EVERY = 1.0  # seconds between checkpoints: a second's pages copied at a time


class Checkpointer:
    def __init__(self, path: Path, every: float = EVERY) -> None:
        self.path, self.every = path, every
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (1 if it could not finish, pages in the log, pages
        copied). A busy database is no error here: what is left waits for the next run."""
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None, check_same_thread=False)
        busy, pages, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy, pages, copied

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True, name="lk3-checkpoints")
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                self.run_once()
            except sqlite3.Error as exc:
                log.warning("checkpoint of %s failed (%s); the next one tries again",
                            self.path, exc)

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
