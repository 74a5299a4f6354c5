"""Fixtures: every database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.service import Service
from storage import migrate
from storage.db import make_engine
from tests.support import FrozenClock, make_service

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def reset_postgres(url: str) -> Engine:
    """A clean schema; an unreachable server is an error, never a skip."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


def fresh_engine(backend: str, tmp_path: Path, migrated: bool = True) -> Engine:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'lk3-test.db'}")
    else:
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
