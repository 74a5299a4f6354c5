"""Bulk writes for the hot path: statements compiled once, rows handed to the driver.

SQLAlchemy Core spends more time per row on parameter processing than SQLite spends
storing it; on SQLite the processor's per-batch inserts and updates go straight to the
driver's executemany, with values converted here exactly as SQLAlchemy would store them
(JSON text, naive UTC timestamps). PostgreSQL keeps the Core path: its round trips dominate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, Table, bindparam, insert, update


@lru_cache(maxsize=64)
def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(value: Any) -> Any:
    return None if value is None else json.dumps(value)


def _time(value: Any) -> Any:
    return None if value is None else _sqlite_time(value)


def _same(value: Any) -> Any:
    return value


@cache
def _converters(table: Table, columns: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    """How SQLAlchemy would store each column's value in SQLite."""
    def conv(column: str) -> Callable[[Any], Any]:
        kind = table.c[column].type
        return _json if isinstance(kind, JSON) else _time if isinstance(kind, DateTime) \
            else _same
    return tuple(conv(c) for c in columns)


@cache
def _insert_sql(table: Table, columns: tuple[str, ...]) -> str:
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table.name} ({cols}) VALUES ({marks})"


@cache
def _update_sql(table: Table, columns: tuple[str, ...], key: str) -> str:
    sets = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE {table.name} SET {sets} WHERE {key} = ?"


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT many rows that all have the same keys."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(rows))
        return
    columns = tuple(rows[0])
    convs = _converters(table, columns)
    params = [tuple(f(r[c]) for f, c in zip(convs, columns, strict=True)) for r in rows]
    conn.exec_driver_sql(_insert_sql(table, columns), params)


def update_rows(conn: Connection, table: Table, key: str,
                rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE many rows by `key`; every row has the same keys, `key` among them."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    if conn.dialect.name != "sqlite":
        stmt = update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
            {c: bindparam(f"b_{c}") for c in columns})
        conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])
        return
    convs = _converters(table, columns)
    params = [(*(f(r[c]) for f, c in zip(convs, columns, strict=True)), r[key]) for r in rows]
    conn.exec_driver_sql(_update_sql(table, columns, key), params)

