"""Data safety for operators: backup and restore, downgrade, file modes, no empty databases."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from storage import migrate
from storage.db import make_engine, reading
from tests.conftest import PG_URL, fresh_engine
from tests.support import FrozenClock
from tests.test_ops_writers import write_case, writers

LK3 = Path(sys.executable).with_name("lk3")
SETTINGS = ("DATABASE_URL", "LK3_HOST", "LK3_PORT", "LOG_LEVEL", "LK3_PROCESSORS")


def lk3(*args: str, cwd: Path, url: str | None = None, **env: str
        ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(LK3), *args], cwd=cwd, env=_env(url, **env), text=True,
                          capture_output=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _env(url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS}
    if url:
        env["DATABASE_URL"] = url
    return env | extra


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lk3: "), done.stderr
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def numbers(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT number FROM cases")}


def test_backup_during_a_burst_restores_every_committed_case(tmp_path: Path) -> None:
    """A backup taken while cases are written holds every case committed before it began."""
    db = tmp_path / "lk3.db"
    migrate.upgrade(engine := make_engine(f"sqlite:///{db}"))
    engine.dispose()
    url = f"sqlite:///{db}"
    with writers("cases", url, tmp_path / "stop") as procs:
        before: dict[int, list[str]] = {i: [] for i in range(len(procs))}
        for i, p in enumerate(procs):  # each writer has committed 20 cases
            assert p.stdout is not None
            while len(before[i]) < 20:
                before[i].append(p.stdout.readline().strip())
        made = lk3("db", "backup", "backup.db", cwd=tmp_path, url=url)
        assert made.returncode == 0, made.stderr
        for i, p in enumerate(procs):  # the writers went on meanwhile
            assert p.stdout is not None
            before[i].append(p.stdout.readline().strip())
    backup = tmp_path / "backup.db"
    assert str(backup) in made.stdout and mode(backup) == 0o600
    assert not Path(f"{backup}-wal").exists()  # one file, whole
    saved = numbers(backup)
    for i, committed in before.items():
        assert set(committed[:20]) <= saved
        # one consistent moment: each writer's cases up to some point, none after a gap
        assert [n in saved for n in committed] == sorted((n in saved for n in committed),
                                                         reverse=True), i
    target = tmp_path / "elsewhere"
    target.mkdir()
    back = lk3("db", "restore", str(backup), cwd=target)
    assert back.returncode == 0, back.stderr
    assert numbers(target / "lk3.db") == saved and mode(target / "lk3.db") == 0o600
    with sqlite3.connect(target / "lk3.db") as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_restore_refuses_while_a_service_runs_and_keeps_the_old_content(tmp_path: Path) -> None:
    """Restore refuses while `lk3 process` runs on the database; after it, keeps the old copy."""
    url = f"sqlite:///{tmp_path / 'lk3.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    assert lk3("db", "backup", "empty.db", cwd=tmp_path).returncode == 0
    with engine.begin() as conn:
        number = write_case(conn, "family", 1, FrozenClock()())
    engine.dispose()
    proc = subprocess.Popen([str(LK3), "process", "--shard", "2"], cwd=tmp_path,
                            env=_env(None, LK3_PROCESSORS="2"), stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        while "lk3 process: shard 2" not in (line := proc.stderr.readline()):
            assert line, "lk3 process stopped"
        refused = lk3("db", "restore", "empty.db", cwd=tmp_path)
        assert refused.returncode == 2
        assert "lk3.db-service.lock" in one_line(refused)
        assert numbers(tmp_path / "lk3.db") == {number}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    done = lk3("db", "restore", "empty.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert numbers(tmp_path / "lk3.db") == set()
    (kept,) = tmp_path.glob("lk3.db.before-restore-*")
    assert numbers(kept) == {number} and mode(kept) == 0o600


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False).replace("+psycopg", "")


def test_downgrade_needs_a_revision_and_yes_to_drop_rows(backend: str, tmp_path: Path) -> None:
    """`db downgrade` needs a revision, and --yes when it drops tables that hold rows."""
    engine = fresh_engine(backend, tmp_path)
    with engine.begin() as conn:
        write_case(conn, "family", 1, FrozenClock()())
    url, head = _url(engine), migrate.head()
    bare = lk3("db", "downgrade", cwd=tmp_path, url=url)
    assert bare.returncode == 2 and "needs the revision" in one_line(bare)
    refused = lk3("db", "downgrade", "base", cwd=tmp_path, url=url)
    assert refused.returncode == 2
    assert "table cases (1 row)" in one_line(refused) and "--yes" in refused.stderr
    assert migrate.current(engine) == head and "cases" in inspect(engine).get_table_names()
    below = migrate.revisions()[-2]
    assert migrate.losses(engine, below) == []  # the newest tables are empty here
    step = lk3("db", "downgrade", below, cwd=tmp_path, url=url)
    assert step.returncode == 0 and step.stdout.strip() == f"database at revision {below}"
    done = lk3("db", "downgrade", "base", "--yes", cwd=tmp_path, url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "database at revision base"
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_database_files_are_private(tmp_path: Path) -> None:
    """The database, its -wal and -shm and the lock files are mode 600; a 644 one is tightened."""
    assert lk3("db", "upgrade", cwd=tmp_path).returncode == 0
    db = tmp_path / "lk3.db"
    engine = make_engine(f"sqlite:///{db}")
    with reading(engine) as reader, engine.begin() as conn:  # the reader keeps -wal, -shm
        reader.exec_driver_sql("SELECT 1").all()
        write_case(conn, "family", 1, FrozenClock()())
    files = [db, *(Path(f"{db}{s}") for s in ("-wal", "-shm", "-writers.lock"))]
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    engine.dispose()
    old = tmp_path / "old"
    old.mkdir()
    sqlite3.connect(old / "lk3.db").close()
    (old / "lk3.db").chmod(0o644)
    assert lk3("db", "upgrade", cwd=old).returncode == 0
    assert mode(old / "lk3.db") == 0o600


@pytest.mark.parametrize("args", [("cases", "list"), ("cases", "list", "--json"),
                                  ("cases", "show", "LK3-2026-00001"), ("counselor", "list"),
                                  ("db", "current"), ("db", "downgrade", "0001"),
                                  ("db", "backup", "copy.db")])
def test_reading_commands_refuse_a_missing_database(tmp_path: Path, args: tuple[str, ...]
                                                    ) -> None:
    """Commands that only read say there is no database (naming the path), and create none."""
    done = lk3(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert f"no database at {tmp_path / 'lk3.db'}" in one_line(done)
    assert list(tmp_path.iterdir()) == []


def test_unknown_revision_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    """`lk3 db upgrade nosuchrev`: one sentence listing the revisions, exit 2, no file."""
    done = lk3("db", "upgrade", "nosuchrev", cwd=tmp_path)
    assert done.returncode == 2
    assert "'nosuchrev'" in one_line(done) and migrate.revisions()[0] in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    """`lk3 db upgrade` on a database it cannot open says so in one sentence, exit 2."""
    done = lk3("db", "upgrade", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'no' / 'lk3.db'}")
    assert done.returncode == 2
    assert f"{tmp_path / 'no' / 'lk3.db'} cannot be used" in one_line(done)


@pytest.mark.parametrize("action, tool", [("backup", "pg_dump"), ("restore", "pg_restore")])
def test_postgres_backup_and_restore_point_to_its_tools(tmp_path: Path, action: str,
                                                        tool: str) -> None:
    """On PostgreSQL `db backup` and `db restore` name pg_dump / pg_restore, exit 2."""
    url = PG_URL or "postgresql://lk3@127.0.0.1:5432/lk3"  # refused before connecting
    done = lk3("db", action, "lk3.dump", cwd=tmp_path, url=url)
    assert done.returncode == 2 and tool in one_line(done)


def test_relative_database_url_is_resolved_at_start(tmp_path: Path) -> None:
    """`lk3 process` logs the absolute path of a relative DATABASE_URL once as it starts."""
    (tmp_path / "data").mkdir()
    proc = subprocess.Popen([str(LK3), "process", "--shard", "2"], cwd=tmp_path,
                            env=_env("sqlite:///data/x.db", LK3_PROCESSORS="2"),
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        lines = []
        while "lk3 process: shard 2" not in (line := proc.stderr.readline()):
            assert line, "lk3 process stopped"
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert sum(f"database: {tmp_path / 'data' / 'x.db'}" in line for line in lines) == 1
    assert (tmp_path / "data" / "x.db").exists()
