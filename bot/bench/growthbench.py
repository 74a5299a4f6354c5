"""Growth benchmark: the scheduler's write lock and `lk3 cases list` with many stored cases.

    python -m bot.bench.growthbench --open 100000 --closed 100000 [--index] [--keep PATH]

Seeds a fresh SQLite file (migrated) with `--open` open cases (95% waiting, 5% claimed and
answered; P0 2%, P1 8%, P2 30%, P3 60%, opened over the last 30 days; those past their target
already alerted, as the scheduler would have left them) plus five P0 cases due now, and
`--closed` closed cases from the last year. Then:

- runs the scheduler twice at the same moment (the first run acts on the five, the second has
  nothing to do) and prints, per run, the longest write transaction (from `BEGIN IMMEDIATE`
  to its commit: what every webhook and processor waits behind), how many there were and the
  run's wall time;
- runs `lk3 cases list` (and `--all`) in a child process and prints its wall time and peak
  resident memory.

`--index` adds the two indexes proposed for a migration (`INDEXES`) first, to compare. Not a
test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bot.casework.scheduler import Scheduler
from flows.hours import service_hours
from storage import crypto, keys, migrate
from storage.conversations import CONTACTS
from storage.counselors import ACCOUNTS
from storage.db import READ_ONLY, make_engine

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # Wednesday 10:00 WIT, the service open
PRIORITIES = (("P0", 2), ("P1", 8), ("P2", 30), ("P3", 60))
INDEXES = ("CREATE INDEX IF NOT EXISTS ix_cases_claimed ON cases (priority, created_at) "
           "WHERE status = 'claimed'",
           "CREATE INDEX IF NOT EXISTS ix_cases_waiting_alerts ON cases "
           "(priority, last_alert_at, created_at) WHERE status = 'waiting'")
CASE_COLUMNS = ("number", "contact_id", "status", "priority", "reasons", "category",
                "distrik", "channel", "legal_basis", "created_at", "updated_at", "claimed_at",
                "closed_at", "assignee_id", "first_response_at", "outcome", "last_alert_at",
                "alert_count")


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed(path: Path, open_cases: int, closed: int, index: bool) -> None:
    """The database file with counselors, contacts and the cases described above."""
    engine = make_engine(f"sqlite:///{path}")
    crypto.install(keys.ring_for("", engine))  # the key file beside it, for `cases list` too
    migrate.upgrade(engine)
    engine.dispose()
    staff, family = (crypto.writer_of(c) for c in (ACCOUNTS.c.provider_user_id,
                                                   CONTACTS.c.provider_user_id))
    assert staff is not None and family is not None
    hours, rng = service_hours(), random.Random(15)
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO counselors (id, name, role, on_duty, capacity, created_at) "
        "VALUES (?, ?, ?, 1, 10000, ?)",
        [(i, f"Petugas {i}", "supervisor" if i == 1 else "counselor", _t(NOW))
         for i in range(1, 21)])
    con.executemany("INSERT INTO counselor_accounts (counselor_id, channel, provider_user_id) "
                    "VALUES (?, 'test', ?)", [(i, staff(f"staff{i}")) for i in range(1, 21)])
    con.executemany("INSERT INTO contacts (id, channel, provider_user_id, language, status, "
                    "created_at) VALUES (?, 'test', ?, 'id', 'active', ?)",
                    [(i, family(f"fam{i}"), _t(NOW)) for i in range(1, 1001)])
    weights = [w for _, w in PRIORITIES]
    rows: list[tuple[Any, ...]] = []
    for n in range(open_cases + 5 + closed):
        due = open_cases <= n < open_cases + 5
        priority = "P0" if due else rng.choices([p for p, _ in PRIORITIES], weights)[0]
        created = NOW - timedelta(minutes=10) if due else \
            NOW - timedelta(seconds=rng.randrange(30 * 86400 if n < open_cases else 365 * 86400))
        status, claimed, answered, closed_at, assignee, last = "waiting", None, None, None, \
            None, None
        if n >= open_cases + 5:
            status, assignee = "closed", 1 + n % 20
            claimed, answered = created + timedelta(minutes=10), created + timedelta(minutes=15)
            closed_at = created + timedelta(days=2)
        elif not due and rng.random() < 0.05:
            status, assignee = "claimed", 1 + n % 20
            claimed, answered = created + timedelta(minutes=1), created + timedelta(minutes=2)
        elif not due and (deadline := hours.deadline(priority, created)) <= NOW:
            # alerted once past the target (as the scheduler does), not due again yet
            last = {"P0": NOW - timedelta(minutes=1),
                    "P1": max(deadline, NOW - timedelta(minutes=10))}.get(priority, deadline)
        rows.append((f"LK3-B-{n:07d}", 1 + n % 1000, status, priority,
                     json.dumps([f"reason_{priority}"]), "dv", "mimika_baru", "test", "consent",
                     _t(created), _t(created), _t(claimed), _t(closed_at), assignee,
                     _t(answered), "selesai" if closed_at else None, _t(last),
                     1 if last else 0))
    con.executemany(f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(CASE_COLUMNS))})", rows)
    for statement in INDEXES if index else ():
        con.execute(statement)
    con.execute("ANALYZE")
    con.commit()
    con.close()


def _timed(engine: Engine) -> list[float]:
    """Every write transaction's time from `BEGIN IMMEDIATE` to its end, in seconds."""
    held: list[float] = []
    started: dict[int, float] = {}

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:  # after storage.db's listener has taken the lock
        if not conn.get_execution_options().get(READ_ONLY):
            started[id(conn)] = time.perf_counter()

    def _end(conn: Any) -> None:
        began = started.pop(id(conn), None)
        if began is not None:
            held.append(time.perf_counter() - began)

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)
    return held


def scheduler_runs(path: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{path}")
    held = _timed(engine)
    scheduler = Scheduler(engine, lambda: NOW)
    out = []
    for run in (1, 2):
        held.clear()
        began = time.perf_counter()
        acted = scheduler.run_once()
        took = time.perf_counter() - began
        longest = max(held, default=0.0)
        out.append(f"scheduler run {run}: {acted} actions, {len(held)} write transactions, "
                   f"longest {longest * 1000:.1f} ms, run {took * 1000:.0f} ms")
    engine.dispose()
    return out


def cases_list(path: Path, *args: str) -> str:
    """The whole command in a child process, measured by /usr/bin/time (a child's own peak:
    Linux carries a process's peak across exec, so this process could not measure it)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "LK3_DATA_KEYS": ""}
    lk3 = Path(sys.executable).with_name("lk3")
    done = subprocess.run(["/usr/bin/time", "-f", "%e %M", str(lk3), "cases", "list", *args],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False)
    wall, peak = done.stderr.strip().splitlines()[-1].split()
    return (f"lk3 cases list {' '.join(args)}".rstrip() + f": exit {done.returncode}, "
            f"{float(wall):.2f} s, peak memory {int(peak) / 1024:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bot.bench.growthbench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--open", type=int, default=100_000, help="open cases (default 100000)")
    p.add_argument("--closed", type=int, default=0, help="closed cases (default 0)")
    p.add_argument("--index", action="store_true", help="add the indexes proposed for a migration")
    p.add_argument("--keep", type=Path, help="the database file to make (kept afterwards)")
    p.add_argument("--list-args", default="", help="more arguments for `cases list`")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "growth.db"
        began = time.perf_counter()
        seed(path, args.open, args.closed, args.index)
        print(f"seeded {args.open} open (+5 due) and {args.closed} closed cases in "
              f"{time.perf_counter() - began:.1f} s")
        for line in scheduler_runs(path):
            print(line)
        print(cases_list(path, *args.list_args.split()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
