"""Engines for SQLite (WAL, busy timeout, BEGIN IMMEDIATE) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: writers there wait by SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.jsontext import dumps, loads

BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "lk3_read_only"


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLite URLs stay as they are."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# The write-ahead log is copied into the database file by the commit that takes it past
# this many pages (40 MB at SQLite's 4 KB pages), not SQLite's default 1,000: a busy page
# (an index's top, a conversation) is copied once per checkpoint however often it changed
# since, so fewer checkpoints copy less. Measured with `lk3 bench`: more messages per CPU
# second than 1,000 pages, or than a checkpoint after every processor batch.
CHECKPOINT_PAGES = 10_000


# sqlite3 binds exact str, int, float and bytearray values directly; anything else, None
# included, goes through its adapter lookup, which for None ends in an AttributeError raised
# and cleared inside the driver (about a microsecond for every NULL written). A registered
# adapter is found first: None still binds as NULL. It is a C function (an empty dict's
# `get` gives None back), since it runs for every NULL bound; a lambda cost more.
_NO_VALUES: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NO_VALUES.get)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", f"busy_timeout={BUSY_TIMEOUT_MS}",
                       "foreign_keys=ON", "synchronous=NORMAL",
                       f"wal_autocheckpoint={CHECKPOINT_PAGES}"):
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


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite: wait for the write lock in a queue, not by polling.

    SQLite's busy handler retries a locked database after sleeps of growing length (up to
    100 ms), so a waiting writer often sleeps on while the lock is already free. The
    processors and the channel adapters storing inbound messages (`writing`) take turns on an
    advisory file lock beside the database instead, which hands over the moment the holder's
    transaction has committed: a webhook is acknowledged without sleeping behind a batch.
    Other writers (the relay, the scheduler, staff commands) keep the busy timeout. Elsewhere
    (PostgreSQL, memory databases) this does nothing.
    """
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{path}-writers.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that waits for its turn (`writer_turn`) rather than polling."""
    with writer_turn(engine), engine.begin() as conn:
        yield conn


def reading(engine: Engine) -> Connection:
    """A connection for a transaction that only reads (SQLite: no write lock taken)."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                               poolclass=NullPool if ":memory:" in url else None,
                               json_serializer=dumps, json_deserializer=loads, **kw)
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=dumps,
                         json_deserializer=loads, **kw)
