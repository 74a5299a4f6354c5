"""Engines for SQLite (WAL, busy timeout, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "lk3_read_only"


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLite URLs stay as they are."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", f"busy_timeout={BUSY_TIMEOUT_MS}",
                       "foreign_keys=ON", "synchronous=NORMAL"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

        dbapi_conn.create_function("lk3_shard", 2, shard_of, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Read-then-write: take the write lock up front. A connection opened by `reading`
        # only reads: a plain BEGIN gives it a snapshot and leaves writers alone.
        read = conn.get_execution_options().get(READ_ONLY)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def shard_of(key: str, shards: int) -> int:
    """Which of `shards` worker processes owns this contact key (stable across processes)."""
    return zlib.crc32(key.encode()) % shards


def reading(engine: Engine) -> Connection:
    """A connection for a transaction that only reads (SQLite: no write lock taken)."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                               poolclass=NullPool if ":memory:" in url else None, **kw)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kw)
