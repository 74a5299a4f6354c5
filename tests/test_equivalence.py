"""One processor, two on one SQLite file, two workers on PostgreSQL: the same families leave
the same database, every column of every table (tests.dbdump says what is normalised).

The families follow varied paths (the benchmark's scripts cover every category, both ages,
the call path, refusals now and then, emergencies), tell stories with danger words, refuse
consent, stop (one after a case opened early was told its category and distrik), ask for
their data, leave quickly, send a long message and a photo; a
counselor and a supervisor are on duty, so cases are announced, and between turns the
counselor takes the most urgent case and writes to the family, who answers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from bot.bench.families import script
from bot.pipeline.processor import Processor
from storage import inbox
from storage.db import make_engine
from storage.models import Base, Counselor, OutboxMessage
from tests.conftest import PG_URL, fresh_engine
from tests.dbdump import differences, dump
from tests.support import FrozenClock, flows, make_service, send
from tests.test_handoff import add_staff

Said = str | dict[str, Any]


def _scripts() -> dict[str, list[Said]]:
    out: dict[str, list[Said]] = {f"62813{n:05d}": list(script(flows(), n)[0]) for n in range(30)}
    out["6281400001"] = ["halo", "x" * 5000, *script(flows(), 0)[0][1:]]
    out["6281400002"] = ["halo", {"text": "", "media": [{"kind": "photo", "ref": "f-1"}]},
                         *script(flows(), 1)[0][1:]]
    out["6281400003"] = ["sa pu suami pukul sa tiap malam, sa takut", "1", "2", "1", "2"]
    out["6281400004"] = ["tolong, dia bawa parang mo bunuh sa sekarang", "tidak", "ya"]
    out["6281400005"] = ["halo", "1", "2", "BERHENTI", "halo lagi"]
    out["6281400006"] = ["halo", "1", "tidak setuju", "sa mau cerita saja"]
    out["6281400007"] = ["halo", "HAPUS", "DATA", "KELUAR"]
    out["6281400008"] = ["sa su cape hidup, tra mau hidup lagi", "iya", "tidak", "ya"]
    out["6281400009"] = ["halo", "1", "1", "anak sa dipukul bapaknya", "LEWATI", "3"]
    # a P1 case opened at consent, told its category and distrik as given, then BERHENTI
    out["6281400010"] = ["halo", "1", "3", "sa tra punya tempat aman malam ini", "1", "2", "3",
                         "1", "2", "BERHENTI"]
    return out


def _run(db: Engine, clock: FrozenClock, processors: list[Processor], threads: bool) -> None:
    service = make_service(db, clock)
    add_staff(service, "Sari", "c1")
    add_staff(service, "Budi", "s1", role="supervisor")
    with db.begin() as conn:
        conn.execute(update(Counselor).values(on_duty=True))
    scripts = _scripts()

    def drain() -> None:
        if not threads:
            while processors[0].run_once():
                pass
            return

        def work(p: Processor) -> None:
            while True:
                p.run_once()
                with db.connect() as conn:
                    if inbox.backlog(conn) == 0:
                        return
        running = [threading.Thread(target=work, args=(p,)) for p in processors]
        for t in running:
            t.start()
        for t in running:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in running), "a processor did not finish"

    for turn in range(max(len(s) for s in scripts.values())):
        for user, says in scripts.items():
            if turn < len(says):
                said = says[turn]
                body = {"text": said} if isinstance(said, str) else said
                send(service, user, payload=body, message_id=f"{user}-{turn}")
        if turn in (4, 9):  # the counselor takes the most urgent case and speaks
            send(service, "c1", "/ambil", message_id=f"c1-{turn}")
        if turn in (5, 10):
            send(service, "c1", "Selamat pagi, saya Sari dari LK3. Bisa cerita?",
                 message_id=f"c1-{turn}")
        drain()
        clock.advance(minutes=3)
    with db.connect() as conn:
        assert inbox.backlog(conn) == 0
        told = conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient.in_(["c1", "s1"]))).scalar_one()
    assert told > 10, "staff were told of cases"


def _mode(mode: str, tmp_path: Path) -> Engine:
    folder = tmp_path / mode
    folder.mkdir()
    clock = FrozenClock()
    if mode == "sqlite-1":
        db = fresh_engine("sqlite", folder)
        _run(db, clock, [Processor(db, flows(), clock)], threads=False)
    elif mode == "sqlite-2":
        db = fresh_engine("sqlite", folder)
        _run(db, clock, [Processor(db, flows(), clock, batch=7, shard=(i, 2))
                         for i in range(2)], threads=True)
    else:
        db = fresh_engine("postgresql", folder)
        _run(db, clock, [Processor(db, flows(), clock, batch=7) for _ in range(2)],
             threads=True)
    return db


@pytest.fixture(scope="module")
def one_processor(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return _mode("sqlite-1", tmp_path_factory.mktemp("equivalence"))


MODES = ["sqlite-2", *(["postgresql-2"] if PG_URL else [])]


@pytest.mark.parametrize("mode", MODES)
def test_every_column_of_every_table_is_the_same_whatever_the_processors(
        one_processor: Engine, mode: str, tmp_path: Path) -> None:
    expected = dump(one_processor)
    assert sum(len(rows) for rows in expected.values()) > 2000  # families did talk
    assert all(expected[t] for t in ("cases", "case_events", "consents", "messages", "outbox",
                                     "conversations", "inbox", "contacts")), \
        [t for t, rows in expected.items() if not rows]
    db = _mode(mode, tmp_path)
    try:
        found = dump(db)
    finally:
        db.dispose()
    assert found == expected, "\n".join(differences(expected, found))


def _columns_with_data(db: Engine) -> list[tuple[str, str, Any]]:
    """Every (table, column) with a stored value, and one row's key to change it by."""
    out = []
    with db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            key = next(iter(table.primary_key.columns))
            for column in table.columns:
                row = conn.execute(select(key).where(column.is_not(None)).limit(1)).first()
                if row is not None and not column.foreign_keys and column is not key:
                    out.append((table.name, column.name, row[0]))
    return out


def _changed(value: Any) -> Any:
    changes: dict[type, Callable[[Any], Any]] = {
        bool: lambda v: not v, int: lambda v: v + 1, str: lambda v: v + "~",
        dict: lambda v: {**v, "~": 1}, list: lambda v: [*v, "~"]}
    for kind, change in changes.items():
        if isinstance(value, kind):
            return change(value)
    return value.replace(microsecond=(value.microsecond + 1) % 1_000_000)  # a time


def test_the_comparison_sees_a_change_in_any_column(one_processor: Engine,
                                                    tmp_path: Path) -> None:
    """The net has no holes: one value changed in any column of any table (a field a
    second write path forgot, say) makes the dumps differ."""
    expected = dump(one_processor)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(str(one_processor.url.database)) as src, \
            sqlite3.connect(copy) as dst:
        src.backup(dst)
    db = make_engine(f"sqlite:///{copy}")
    checked = 0
    try:
        for table_name, column, key in _columns_with_data(db):
            table = Base.metadata.tables[table_name]
            pk = next(iter(table.primary_key.columns))
            with db.begin() as conn:
                before = conn.execute(select(table.c[column]).where(pk == key)).scalar_one()
                conn.execute(update(table).where(pk == key).values({column: _changed(before)}))
            assert dump(db) != expected, f"a change in {table_name}.{column} went unseen"
            with db.begin() as conn:
                conn.execute(update(table).where(pk == key).values({column: before}))
            checked += 1
        assert dump(db) == expected
    finally:
        db.dispose()
    with one_processor.connect() as conn:
        assert conn.execute(select(func.count()).select_from(
            Base.metadata.tables["cases"])).scalar_one() > 0
    assert checked > 60
