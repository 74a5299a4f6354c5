"""Fixtures: every database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from bot.service import Service
from storage import crypto, keys, migrate
from storage.db import make_engine
from storage.models import Base
from tests.support import FrozenClock, make_service


def _own_database(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own beside TEST_DATABASE_URL's
    (`test_gw0`, `test_gw1`, ...), created when missing: tests empty theirs at will."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    given = make_url(url)
    name = f"{given.database}_{worker}"
    server = create_engine(given, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


PG_URL = _own_database(os.environ.get("TEST_DATABASE_URL", ""))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
# Every test runs with encryption on, with these keys (newest first): installed for this
# process, and in the environment for the `lk3` processes tests start.
TEST_KEYS = ("ktest2:ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=,"
             "ktest1:MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=")
os.environ["LK3_DATA_KEYS"] = TEST_KEYS
TEST_RING = crypto.Ring(keys.parse(TEST_KEYS))
crypto.install(TEST_RING)


def reset_postgres(url: str) -> Engine:
    """A clean schema; an unreachable server is an error, never a skip."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


def _emptied_postgres(url: str) -> Engine | None:
    """The database emptied in place (TRUNCATE, ids from 1) when its schema is exactly the
    migrated one: a tenth of the time of dropping it and migrating again. None otherwise."""
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        wanted = set(Base.metadata.tables) | {"alembic_version"}
        triggers = conn.execute(text("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON "
                                     "c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = "
                                     "c.relnamespace WHERE n.nspname = 'public' AND NOT "
                                     "t.tgisinternal")).scalar()
        if tables == wanted and not triggers and conn.execute(text(
                "SELECT version_num FROM alembic_version")).scalars().all() == [migrate.head()]:
            conn.execute(text(f"TRUNCATE {', '.join(sorted(Base.metadata.tables))} "
                              "RESTART IDENTITY CASCADE"))
            return engine
    engine.dispose()
    return None


@cache
def _sqlite_template() -> Path:
    """A migrated SQLite file, made once a session: each test's database is a copy."""
    folder = Path(tempfile.mkdtemp(prefix="lk3-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection's close folds the write-ahead log into the file
    assert not Path(f"{path}-wal").exists()
    return path


def fresh_engine(backend: str, tmp_path: Path, migrated: bool = True) -> Engine:
    """A database for one test: empty and migrated (or, `migrated=False`, with no schema)."""
    if backend == "sqlite":
        path = tmp_path / "lk3-test.db"
        if migrated:
            shutil.copy(_sqlite_template(), path)  # with its mode (600)
        return make_engine(f"sqlite:///{path}")
    engine = _emptied_postgres(PG_URL) if migrated else None
    if engine is None:
        engine = reset_postgres(PG_URL)
        if migrated:
            migrate.upgrade(engine)
    return engine


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(backend: str, tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(backend, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine("sqlite", tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def service(db: Engine, clock: FrozenClock) -> Service:
    return make_service(db, clock)
