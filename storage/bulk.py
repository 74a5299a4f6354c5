"""Bulk reads and writes for the hot path: statements compiled once, rows through the driver.

SQLAlchemy Core spends more time per row on parameter and result processing than SQLite
spends storing or finding it; on SQLite the processor's per-batch statements go straight to
the driver, with values converted here exactly as SQLAlchemy would store and read them (JSON
text, naive UTC timestamps). PostgreSQL keeps the Core path: its round trips dominate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Select,
    Table,
    bindparam,
    insert,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from storage import crypto
from storage.jsontext import JSONText, dumps, loads


@lru_cache(maxsize=64)
def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


Encoded = JSONText  # JSON text encoded ahead (outside a write lock): stored as it is


# Values go to the driver as exact str and int: for any other type (a str or int subclass,
# such as Encoded or bool) sqlite3 looks for an adapter, which costs more than the copy.
def _json(value: Any) -> Any:
    return None if value is None else str(value) if type(value) is Encoded else dumps(value)


def _bool(value: Any) -> Any:
    return None if value is None else int(value)


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """For SQLAlchemy Core: JSON encoded ahead back to the value it encodes."""
    return {k: loads(str(v)) if type(v) is Encoded else v for k, v in row.items()}


# The last time converted, as one tuple (replaced whole, so threads never see half of it):
# the rows of a batch share one `now`, and this is cheaper than the cache's hashing.
_last: tuple[datetime | None, str] = (None, "")


def _time(value: Any) -> Any:
    global _last
    if value is None:
        return None
    last = _last
    if value is last[0]:
        return last[1]
    _last = (value, text := _sqlite_time(value))
    return text


stored_time = _time  # a time as SQLite stores it here (what `writer` and `positional` do)


def _same(value: Any) -> Any:
    return value


@cache
def _converters(table: Table, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    """How SQLAlchemy would store each column's value in SQLite: a sealed column by its
    own type (storage.crypto), the others as SQLAlchemy converts them."""
    def conv(column: str) -> Callable[[Any], Any]:
        kind = table.c[column].type
        sealed = crypto.writer_of(table.c[column])
        return sealed if sealed is not None else _json if isinstance(kind, JSON) \
            else _time if isinstance(kind, DateTime) \
            else _bool if isinstance(kind, Boolean) else _same
    return tuple(conv(c) for c in columns)


def converters(table: Table, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    """Per column, how its value is stored on SQLite (for statements written by hand, such
    as `storage.inbox.burst`)."""
    return _converters(table, columns)


@cache
def _encoder(table: Table, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values for `columns`, in order, as SQLite stores them (only the JSON and
    time columns need converting; the rest go as they are)."""
    get = itemgetter(*columns)
    convert = [(i, f) for i, f in enumerate(_converters(table, columns)) if f is not _same]

    def encode(row: dict[str, Any]) -> tuple[Any, ...]:
        values = list(get(row)) if len(columns) > 1 else [get(row)]
        for i, f in convert:
            values[i] = f(values[i])
        return tuple(values)

    return encode


def _insert_sql(table: Table, columns: tuple[str, ...]) -> str:
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"


def _update_sql(table: Table, columns: tuple[str, ...], key: str) -> str:
    sets = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE {table.name} SET {sets} WHERE {key} = ?"


@cache
def writer(table: Table, keys: tuple[str, ...],
           key: str | None) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    """SQLite: the statement for rows with these keys (an INSERT, or an UPDATE by `key`)
    and how to encode a row for it, to run through the driver (`insert_rows`...), now or
    later (`bot.ready`)."""
    if key is None:
        return _insert_sql(table, keys), _encoder(table, keys)
    columns = (*(c for c in keys if c != key), key)
    return _update_sql(table, columns[:-1], key), _encoder(table, columns)


@cache
def positional(table: Table, columns: tuple[str, ...],
               key: str | None = None) -> tuple[str, Callable[..., tuple[Any, ...]]]:
    """Like `writer`, for values given in the order of `columns` (`key` last, for an
    UPDATE) rather than as a dict: the statement and how to encode the values."""
    sql, _ = writer(table, columns, key)
    convert = [(i, f) for i, f in enumerate(_converters(table, columns)) if f is not _same]

    def encode(*values: Any) -> tuple[Any, ...]:
        out = list(values)
        for i, f in convert:
            out[i] = f(out[i])
        return tuple(out)

    return sql, encode


def _from_json(value: Any) -> Any:
    return None if value is None else loads(value)


def _from_time(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _reader(column: Any) -> Callable[[Any], Any] | None:
    sealed = crypto.reader_of(column)
    return sealed if sealed is not None else _from_json if isinstance(column.type, JSON) \
        else _from_time if isinstance(column.type, DateTime) else None  # others as they are


Readers = tuple[tuple[int, Callable[[Any], Any]], ...]


@cache
def _compiled(stmt: Select[Any]) -> tuple[str, tuple[str, ...], dict[str, Any], Readers,
                                          dict[str, Callable[[Any], Any]]]:
    """SQLite SQL, bind names in order with their defaults, how to read each column, and
    how to bind the values compared with sealed columns (their type's own writer)."""
    compiled = stmt.compile(dialect=sqlite.dialect())
    readers = tuple((i, f) for i, c in enumerate(stmt.selected_columns)
                    if (f := _reader(c)) is not None)
    binders = {name: f for name, bind in compiled.binds.items()
               if (f := crypto.writer_of(bind)) is not None}
    return compiled.string, tuple(compiled.positiontup or ()), compiled.params, readers, \
        binders


def _read(readers: Readers, row: Sequence[Any]) -> tuple[Any, ...]:
    if not readers:
        return tuple(row)
    values = list(row)
    for i, f in readers:
        values[i] = f(values[i])
    return tuple(values)


def execute(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """SQLite: one statement whose rows the caller needs (a read, or a write RETURNING
    them) on the driver's own connection, in `conn`'s transaction (begun as SQLAlchemy
    would begin it); its rows as plain tuples, errors raised as SQLAlchemy's. SQLAlchemy's
    result handling costs more than SQLite's work for the small statements here. Other
    writes stay on `exec_driver_sql`, whose statement events a test can make refuse one."""
    if not conn.in_transaction():
        conn.begin()
    try:
        return conn.connection.driver_connection.execute(  # type: ignore[union-attr,no-any-return]
            sql, params).fetchall()
    except sqlite3.Error as exc:  # IntegrityError, OperationalError...: as SQLAlchemy's
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc


def select_rows(conn: Connection, stmt: Select[Any], params: dict[str, Any],
                decode: bool = True) -> list[tuple[Any, ...]]:
    """Run a select built once at import (bind parameters by name; a list value for an
    `expanding` one, as in `col.in_(bindparam("ids", expanding=True))`); plain tuples back.

    With `decode=False` the values stay as stored (SQLite: JSON and times as text), which
    is cheap to compare; `decoded` turns such a row into what SQLAlchemy would return.
    """
    if conn.dialect.name != "sqlite":
        return [tuple(r) for r in conn.execute(stmt, params)]
    sql, names, defaults, readers, binders = _compiled(stmt)
    args: list[Any] = []
    for name in names:
        value = params[name] if name in params else defaults[name]
        bind = binders.get(name)
        if isinstance(value, list | tuple):
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(value)) or "NULL")
            args += value if bind is None else [bind(v) for v in value]
        else:
            args.append(value if bind is None else bind(value))
    rows = execute(conn, sql, args)
    if not decode or not readers:
        return rows
    return [_read(readers, r) for r in rows]


def decoded(conn: Connection, stmt: Select[Any], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row `select_rows(..., decode=False)` returned, as it would with decode=True."""
    if conn.dialect.name != "sqlite":
        return row
    return _read(_compiled(stmt)[3], row)


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT many rows that all have the same keys."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), [plain(r) for r in rows])
        return
    sql, encode = writer(table, tuple(rows[0]), None)
    conn.exec_driver_sql(sql, [encode(r) for r in rows])


def insert_one(conn: Connection, table: Table, row: dict[str, Any]) -> int:
    """INSERT one row; its new `id`."""
    if conn.dialect.name != "sqlite":
        return int(conn.execute(insert(table).returning(table.c.id), row).scalar_one())
    sql, encode = writer(table, tuple(row), None)
    return int(execute(conn, f"{sql} RETURNING id", encode(row))[0][0])


def update_rows(conn: Connection, table: Table, key: str,
                rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE many rows by `key`; every row has the same keys, `key` among them."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        columns = tuple(c for c in rows[0] if c != key)
        stmt = update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
            {c: bindparam(f"b_{c}") for c in columns})
        conn.execute(stmt, [{f"b_{k}": v for k, v in plain(r).items()} for r in rows])
        return
    sql, encode = writer(table, tuple(rows[0]), key)
    conn.exec_driver_sql(sql, [encode(r) for r in rows])

