"""`lk3 db backup` and `lk3 db restore` (SQLite), and the lock that says a service runs.

A backup is SQLite's online backup: one read transaction copies every page as committed
when it began, while the service goes on writing (WAL: readers and the writer do not wait
for each other). The copy is written beside the target under a temporary name, checked
(`PRAGMA quick_check`), switched to a single file (journal mode DELETE) and then renamed,
so a backup file is whole or absent. `cp lk3.db` is not a backup: recent commits may sit
in `lk3.db-wal`.

`lk3 serve`, `lk3 process` and `lk3 chat` hold a shared lock on `<db>-service.lock` for as
long as they run; the kernel drops it when the process ends, however it ends. A restore
takes that lock exclusively, so it refuses while any of them runs, and none of them starts
while a restore is under way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage import migrate
from storage.turns import PRIVATE, Turn, private_file

try:
    import fcntl
except ImportError:  # Windows: no service lock; stop the service before a restore
    fcntl = None  # type: ignore[assignment]

_service_locks: list[int] = []  # held until the process ends


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one sentence."""


@dataclass(frozen=True)
class Copy:
    path: Path
    cases: int
    revision: str | None
    size: int


def service_lock_path(database: Path) -> Path:
    return Path(f"{database}-service.lock")


def hold_service_lock(database: Path) -> None:
    """For a serving process: hold the shared lock until exit (BackupError during a
    restore)."""
    if fcntl is None:
        return
    fd = os.open(service_lock_path(database), os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise BackupError(f"A restore of {database} is under way; start again when "
                          "`lk3 db restore` has finished.") from None
    _service_locks.append(fd)


@contextlib.contextmanager
def no_service(database: Path) -> Iterator[None]:
    """The service lock, exclusively: BackupError while a service uses the database."""
    if fcntl is None:
        yield
        return
    fd = os.open(service_lock_path(database), os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"{database} is in use by a running `lk3 serve`, `lk3 process` or `lk3 chat` "
                f"(they hold {service_lock_path(database).name}); stop them first.") from None
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _open(path: Path, mode: str) -> sqlite3.Connection:
    """An existing SQLite file, never created here (`mode`: ro or rw)."""
    return sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=30,
                           isolation_level=None)


def _describe(conn: sqlite3.Connection, path: Path) -> tuple[int, str | None]:
    """Cases and revision of a database, or BackupError if it is not an LK3 database."""
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path} is damaged (SQLite quick_check: {check}).")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in names:
            raise BackupError(f"{path} is not an LK3 database (it has no alembic_version "
                              "table).")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0] \
            if "cases" in names else 0
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database ({exc}).") from None
    return int(cases), row[0] if row else None


def backup(database: Path, target: Path | str, now: datetime | None = None) -> Copy:
    """Copy `database` to `target` (a new file, or a folder to put `lk3-<time>.db` in; a
    name ending in `/` is a folder, which must exist)."""
    if not database.is_file():
        raise BackupError(f"There is no database at {database}.")
    folder = isinstance(target, str) and target.endswith(("/", os.sep))
    target = Path(target)
    if folder and not target.is_dir():
        raise BackupError(f"There is no folder {target.absolute()} to write the backup in.")
    if target.is_dir():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        target = target / f"{database.stem}-{stamp}.db"
    target = target.absolute()
    if target.exists():
        raise BackupError(f"{target} already exists; a backup never overwrites a file.")
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to write the backup in.")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    private_file(partial)
    try:
        src = _open(database, "rw")  # rw: may read the -wal and -shm; never creates
        try:
            dst = sqlite3.connect(partial, isolation_level=None)
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")
                cases, revision = _describe(dst, target)
            finally:
                dst.close()
        finally:
            src.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"The backup of {database} failed: {exc}.") from None
    finally:
        partial.unlink(missing_ok=True)
    return Copy(target, cases, revision, target.stat().st_size)


def _save(database: Path, now: datetime | None) -> Copy:
    """The current database beside itself before a restore; a damaged one as its files."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    saved = Path(f"{database}.before-restore-{stamp}")
    try:
        return backup(database, saved)
    except BackupError:
        for suffix in ("", "-wal"):
            if Path(f"{database}{suffix}").is_file():
                private_file(Path(f"{saved}{suffix}"))
                shutil.copyfile(f"{database}{suffix}", f"{saved}{suffix}")
        return Copy(saved, 0, None, saved.stat().st_size)


def restore(database: Path, source: Path, now: datetime | None = None
            ) -> tuple[Copy, Copy | None]:
    """Replace the database's content with a backup's. The current content is first saved
    beside it (`<db>.before-restore-<time>`); returns the restored and the saved copy."""
    source = source.absolute()
    if not source.is_file():
        raise BackupError(f"There is no backup file {source}.")
    if source == database:
        raise BackupError(f"{source} is the database itself.")
    try:
        src = _open(source, "ro")
    except sqlite3.Error as exc:
        raise BackupError(f"{source} cannot be opened as a SQLite database ({exc}).") from None
    try:
        cases, revision = _describe(src, source)
        if revision is not None and revision not in migrate.revisions():
            raise BackupError(f"{source} is at revision {revision}, which this lk3 does not "
                              "know (was it made by a newer version?).")
        with no_service(database):
            saved = _save(database, now) if database.is_file() and database.stat().st_size \
                else None
            private_file(database)
            turn = Turn(f"{database}-writers.lock")  # writers of short commands wait
            turn.take()
            try:
                dst = _open(database, "rw")
                try:
                    src.backup(dst)
                    dst.execute("PRAGMA journal_mode=WAL")
                finally:
                    dst.close()
            finally:
                turn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"The restore into {database} failed: {exc}.") from None
    finally:
        src.close()
    return Copy(database, cases, revision, database.stat().st_size), saved
