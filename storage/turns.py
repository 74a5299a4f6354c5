"""SQLite: the files beside the database, and the writers' turn on `<db>-writers.lock`.

Every write transaction on a SQLite database file waits for its turn on an advisory file
lock beside it (`<db>-writers.lock`) before `BEGIN IMMEDIATE`, and gives it up the moment
the transaction has committed or rolled back. The next writer in line starts at once. A
writer that skipped the line and relied on SQLite's busy handler instead would poll, sleeping
up to 100 ms between tries, and while the others hand the lock from one to the next it
rarely finds it free: such writers starved (20 counselors claiming at once, most got a
"database is locked" after the 10 s busy timeout). So the turn is taken for every writer of
the engine, whatever code opened the transaction (`storage.db` wires it in).

The database file, its `-wal` and `-shm` files (SQLite gives them the database file's mode)
and the lock files hold or guard accounts of violence and self-harm: they are created mode
600, and a group- or world-readable one found at start is made private.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: writers there wait by SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

PRIVATE = 0o600
SUFFIXES = ("", "-wal", "-shm", "-writers.lock", "-service.lock")

_held: set[tuple[int, str]] = set()  # (thread, lock path): turns held right now
_held_lock = threading.Lock()


def private_file(path: Path) -> None:
    """Create `path` empty with mode 600 unless it exists (an empty file is an empty
    SQLite database)."""
    with contextlib.suppress(OSError):  # there already; or no folder: SQLite will say so
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))


def make_private(database: Path) -> None:
    """The database and its companion files: mode 600 where they are open to others."""
    for suffix in SUFFIXES:
        path = Path(f"{database}{suffix}")
        try:
            info = path.stat()
        except OSError:  # not there (or not ours to look at): SQLite will say if it matters
            continue
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077 or not stat.S_ISREG(info.st_mode):  # never a folder's mode
            continue
        try:
            path.chmod(PRIVATE)
            log.warning("%s was open to other users (mode %o); now mode 600", path, mode)
        except PermissionError:
            log.warning("%s is open to other users (mode %o) and not ours to change", path,
                        mode)


class Turn:
    """One connection's place in the writers' line (one open lock file per connection, so
    two connections of one process take turns as two processes would)."""

    def __init__(self, lock_path: str) -> None:
        self.path = lock_path
        self.file: int | None = None
        self.held = False
        self.owner = (0, lock_path)  # (thread, lock path) while held

    def take(self) -> None:
        """Wait for the turn. A thread that already holds a turn through another connection
        does not queue behind itself: that nested writer waits by SQLite's busy timeout, as
        every writer did before."""
        if fcntl is None or self.held:
            return
        me = (threading.get_ident(), self.path)
        with _held_lock:
            if me in _held:
                return
        if self.file is None:
            self.file = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE)
        fcntl.flock(self.file, fcntl.LOCK_EX)
        self.held, self.owner = True, me
        with _held_lock:
            _held.add(me)

    def give(self) -> None:
        if not self.held or self.file is None:
            return
        self.held = False
        with _held_lock:
            _held.discard(self.owner)
        fcntl.flock(self.file, fcntl.LOCK_UN)

    def close(self) -> None:
        self.give()
        if self.file is not None:
            os.close(self.file)
            self.file = None


class TurnConnection(sqlite3.Connection):
    """sqlite3's connection that gives up its writer's turn once a commit or rollback has
    ended the transaction (SQLAlchemy commits, rolls back and resets pooled connections
    through these methods)."""

    turn: Turn | None = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._done()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._done()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.turn is not None:
                self.turn.close()

    def _done(self) -> None:
        if self.turn is not None and not self.in_transaction:
            self.turn.give()


def take_turn(dbapi_connection: Any) -> None:
    turn = getattr(dbapi_connection, "turn", None)
    if turn is not None:
        turn.take()


def give_turn(dbapi_connection: Any) -> None:
    turn = getattr(dbapi_connection, "turn", None)
    if turn is not None:
        turn.give()
