"""Key rotation: every sealed value moved to the newest data key, while the service runs.

`rotate` walks each table with sealed columns in id order, `BATCH` rows per transaction:
a short write transaction each (on SQLite in the writers' line, like any writer), so the
service goes on between batches. A row is rewritten only where its value is still the one
read (`UPDATE ... WHERE id = :id AND col = :old`): a value the service wrote meanwhile is
already under the newest key and stays. Only values not yet under the newest key are read,
so a run that was stopped continues where it stopped, and a second run finds nothing (the
removal markers, plain by design, are read and left). `status` counts values per key id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Table,
    TableClause,
    Text,
    and_,
    case,
    column,
    func,
    literal,
    or_,
    select,
    table,
    update,
)

from storage import crypto
from storage.db import reading, writing
from storage.keys import sealed_columns

BATCH = 500
PLAIN = "(not sealed)"


def _raw(t: Table, cols: list[Column[Any]]) -> TableClause:
    """The table as stored: sealed values as the text they are, no type in between."""
    return table(t.name, column("id"), *(column(c.name, Text) for c in cols))


def _stale(value: ColumnElement[Any], prefix: str) -> ColumnElement[bool]:
    return and_(value.is_not(None), value != "",
                func.substr(value, 1, len(prefix)) != prefix)


def rotate(engine: Engine, batch: int = BATCH, batches: int | None = None,
           progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Seal again with the newest key every value that is not under it; per table, how
    many values were rewritten. `batches`: stop after that many (a test's interruption)."""
    newest = crypto.current().newest
    counts: Counter[str] = Counter()
    done = 0
    for t, cols in sealed_columns():
        raw = _raw(t, cols)
        stale = or_(*(_stale(raw.c[c.name], newest.prefix) for c in cols))
        last = 0
        while batches is None or done < batches:
            with writing(engine) as conn:
                rows = conn.execute(select(raw.c.id, *(raw.c[c.name] for c in cols))
                                    .where(raw.c.id > last, stale)
                                    .order_by(raw.c.id).limit(batch)).all()
                n = sum(_rewrite(conn, raw, cols, row, newest) for row in rows)
            done += 1
            counts[t.name] += n
            if not counts[t.name]:
                del counts[t.name]
            if progress is not None and n:
                progress(t.name, n)
            if len(rows) < batch:
                break
            last = rows[-1][0]
    return dict(counts)


def _rewrite(conn: Any, raw: TableClause, cols: list[Column[Any]], row: Any,
             key: crypto.DataKey) -> int:
    """One row's stale values sealed with `key`, each only if still as read."""
    n = 0
    for c, old in zip(cols, row[1:], strict=True):
        if not old or old.startswith(key.prefix):
            continue
        kind = crypto.sealed_type(c)
        assert kind is not None
        new = kind.reseal(old, key)
        if new == old:  # a removal marker
            continue
        n += conn.execute(update(raw).where(raw.c.id == row[0], raw.c[c.name] == old)
                          .values({c.name: new})).rowcount
    return n


def _key_of(value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The key id in a stored value, in SQL ('' when it is not sealed)."""
    rest = func.substr(value, len(crypto.MARK) + 1)
    kid = func.split_part(value, ":", 3) if dialect == "postgresql" else \
        func.substr(rest, 1, func.instr(rest, ":") - 1)
    return case((func.substr(value, 1, len(crypto.MARK)) == crypto.MARK, kid), else_=literal(""))


def status(engine: Engine) -> dict[str, int]:
    """How many stored values each key id seals (`PLAIN`: not sealed, as before migration
    0013; empty texts, NULLs, removal markers and empty JSON are not counted)."""
    counts: Counter[str] = Counter()
    with reading(engine) as conn:
        for t, cols in sealed_columns():
            raw = _raw(t, cols)
            for c in cols:
                value = raw.c[c.name]
                kid = _key_of(value, engine.dialect.name).label("kid")
                query = select(kid, func.count()).where(
                    value.is_not(None), value != "", value.not_in(sorted(crypto.PLAIN_JSON))
                ).group_by(kid)
                for k, n in conn.execute(query):
                    counts[k or PLAIN] += int(n)
    return dict(counts)
