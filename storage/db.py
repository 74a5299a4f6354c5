"""Engines for SQLite (WAL, busy timeout, BEGIN IMMEDIATE, writers in turn) and PostgreSQL
(psycopg 3)."""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage import crypto
from storage.jsontext import dumps, loads
from storage.turns import Turn, TurnConnection, give_turn, make_private, private_file, take_turn

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


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, made absolute (relative paths are relative to the
    working directory); None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" \
            or name.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(name).expanduser().absolute()


def absolute_url(url: str) -> str:
    """The URL with a relative SQLite path made absolute (from the working directory)."""
    path = sqlite_file(url)
    if path is None:
        return url
    return make_url(url).set(database=str(path)).render_as_string(hide_password=False)


def _sqlite_setup(engine: Engine, path: Path | None) -> None:
    if path is not None:
        @event.listens_for(engine, "do_connect")
        def _private(_dialect: Any, _record: Any, _args: Any, _params: Any) -> None:
            private_file(path)  # before SQLite creates it with the umask's mode
            make_private(path)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        if path is not None:
            dbapi_conn.turn = Turn(f"{path}-writers.lock")
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
        dbapi_conn = conn.connection.driver_connection
        if not read:
            take_turn(dbapi_conn)  # every writer waits in line (storage/turns.py)
        try:
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")
        except BaseException:
            give_turn(dbapi_conn)
            raise


_CONTACT_KEY = crypto.Address("inbox.contact_key")  # the column SQL calls lk3_shard on


def shard_of(key: str, shards: int) -> int:
    """Which of `shards` worker processes owns this contact key (stable across processes):
    by the key itself, so the same whether SQL hands it over sealed (with whichever data
    key) or Python as it is."""
    return zlib.crc32(_CONTACT_KEY.read(key).encode()) % shards


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite every write transaction of our engines waits for its
    turn on the writers' lock file rather than polling (storage/turns.py), so this is
    `engine.begin()`; it stays as the name for what the caller means."""
    with engine.begin() as conn:
        yield conn


def reading(engine: Engine) -> Connection:
    """A connection for a transaction that only reads (SQLite: no write lock taken)."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def make_engine(url: str, **kw: Any) -> Engine:
    """An engine; a SQLite file is created mode 600 at first connect, with a relative path
    taken from the working directory now."""
    url = absolute_url(normalise_url(url))
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                                  "factory": TurnConnection},
                               poolclass=NullPool if ":memory:" in url else None,
                               json_serializer=dumps, json_deserializer=loads, **kw)
        _sqlite_setup(engine, sqlite_file(url))
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=dumps,
                         json_deserializer=loads, **kw)
