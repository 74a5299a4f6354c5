"""The write-ahead log reaches the database file without a writer waiting for the copy.

The proof that a copy happened is the database file alone: copied without its `-wal`, it is
what a reader would see if the log were lost, so it holds exactly what was checkpointed."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from bot.pipeline.workers import Workers
from bot.service import Service
from storage.checkpoints import Checkpointer
from storage.db import make_engine, reading, writing


def _rows_in_file_alone(path: Path, tmp_path: Path) -> int:
    copy = tmp_path / "alone.db"
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])


def _engine_with_notes(path: Path, n: int) -> Engine:
    db = make_engine(f"sqlite:///{path}")
    with writing(db) as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    with sqlite3.connect(path) as conn:  # the table itself in the file, its rows not yet
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for i in range(n):
        with writing(db) as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": f"note {i}"})
    return db


def test_the_log_is_copied_while_a_writer_holds_its_transaction(tmp_path: Path) -> None:
    path = tmp_path / "lk3.db"
    db = _engine_with_notes(path, 50)
    with reading(db) as keep_open:  # the last connection to close would checkpoint itself
        keep_open.execute(text("SELECT 1"))
        assert _rows_in_file_alone(path, tmp_path) == 0  # all 50 only in the log so far

        holding, release = threading.Event(), threading.Event()

        def writer() -> None:
            with writing(db) as conn:  # the writers' turn and SQLite's write lock
                conn.execute(text("INSERT INTO notes (body) VALUES ('later')"))
                holding.set()
                release.wait(10)

        thread = threading.Thread(target=writer)
        thread.start()
        assert holding.wait(10)
        checkpointer = Checkpointer(path)
        try:
            busy, pages, copied = checkpointer.run_once()  # does not wait for the writer
            assert not release.is_set()
            assert (busy, copied) == (0, pages) and pages > 0
            assert _rows_in_file_alone(path, tmp_path) == 50  # committed ones, not 'later'
        finally:
            release.set()
            thread.join()
        checkpointer.run_once()
        assert _rows_in_file_alone(path, tmp_path) == 51
        checkpointer.stop()
    db.dispose()


async def test_serve_copies_the_log_on_sqlite_only(service: Service) -> None:
    workers = Workers(service, 30.0)
    workers.start()
    try:
        if service.db.dialect.name == "sqlite":
            assert workers.checkpoints is not None
            assert workers.checkpoints.thread is not None
            assert workers.checkpoints.thread.is_alive()
            assert workers.checkpoints.path == Path(service.db.url.database or "")
        else:
            assert workers.checkpoints is None
    finally:
        await workers.stop()
    if workers.checkpoints is not None:
        assert workers.checkpoints.thread is not None
        assert not workers.checkpoints.thread.is_alive()
