"""Access records of a view that must not wait for SQLite's write lock (`lk3 cases show`
while a processor writes): appended at once to `<db>-access.jsonl` beside the database
(mode 600, one JSON line each, ids and codes only), and moved into `case_access` by the next
privacy job of the scheduler or by `lk3 cases audit` (`drain`).

An appender locks the file (flock) and checks it is still the file at that path; a drain
renames the file first, then locks it, so a line is never written into a file already read.

Each line names its case by id and number: a journal left beside a database that was reset
or restored since (walk V-2: every scheduler run then failed on a foreign key, and the P0
re-alerts with it) has lines for cases this database does not have, or has under another
number. Those are never written to another family's case: they are kept aside in
`<journal>.unmatched` and logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from storage import privacy
from storage.db import sqlite_file

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


def path_of(engine: Engine) -> Path | None:
    """The journal of a SQLite database file; None for PostgreSQL (no lock to wait for)."""
    db = sqlite_file(engine.url.render_as_string(hide_password=False))
    return None if db is None else Path(f"{db}-access.jsonl")


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def append(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps({**r, "created_at": r["created_at"].isoformat()}) + "\n"
                    for r in rows).encode()
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(path).st_ino:
                    os.write(fd, lines)
                    os.fsync(fd)
                    return
        finally:
            os.close(fd)  # closing lets the lock go; a renamed file: open the new one


def drain(engine: Engine) -> int:
    """Journal lines into `case_access`, in one transaction; how many."""
    path = path_of(engine)
    if path is None:
        return 0
    taking = Path(f"{path}.taking")
    if not taking.exists():  # a drain that died half-way is finished first
        try:
            if path.stat().st_size == 0:
                return 0
            path.rename(taking)
        except FileNotFoundError:
            return 0
    fd = os.open(taking, os.O_RDONLY)
    try:
        _lock(fd)  # an appender that opened it before the rename has finished
        raw = taking.read_text(encoding="utf-8")
    finally:
        os.close(fd)
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    unmatched: list[str] = []
    if rows:
        with engine.begin() as conn:
            known = privacy.numbers(conn, list({int(r["case_id"]) for r in rows}))
            for r in rows:
                if known.get(int(r["case_id"])) != r.get("number"):
                    unmatched.append(json.dumps(r))  # another database's case
                    continue
                privacy.record_access(conn, [int(r["case_id"])], r["actor"], r["via"],
                                      datetime.fromisoformat(r["created_at"]), r["reason"])
    if unmatched:
        _keep_aside(Path(f"{path}.unmatched"), unmatched)
        log.warning("%d access record(s) in %s name cases this database does not have (a "
                    "journal from before a reset or restore?); kept in %s.unmatched",
                    len(unmatched), path, path)
    taking.unlink()
    return len(rows) - len(unmatched)


def _keep_aside(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, "".join(f"{line}\n" for line in lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
