"""Flat as it grows (issue 15): the scheduler and `lk3 cases` read without the write lock, and
the scheduler's index scan finds every case a full scan would act on. Timings are measured
with `python -m bot.bench.growthbench`, not here."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from bot.casework.scheduler import Scheduler
from bot.cli.casecli import list_cases, show_case
from flows.hours import service_hours
from storage import cases, conversations, queue
from storage.db import sqlite_file
from tests.support import FrozenClock
from tests.test_scheduler import hire, open_case, texts


@contextmanager
def write_lock_held(db: Engine) -> Iterator[None]:
    """Another process's write transaction on the SQLite file, open for the block."""
    path = sqlite_file(db.url.render_as_string(False))
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_scheduler_run_with_nothing_due_takes_no_write_lock(
        sqlite_db: Engine, clock: FrozenClock) -> None:
    """While another writer holds SQLite's lock, a run with nothing due still finishes."""
    hire(sqlite_db, clock, "ani")
    open_case(sqlite_db, clock, "P3")
    with write_lock_held(sqlite_db):
        assert Scheduler(sqlite_db, clock).run_once() == 0
    clock.advance(days=3)  # and once the lock is free, what is due is done
    assert Scheduler(sqlite_db, clock).run_once() == 1
    assert len(texts(sqlite_db, "ani")) == 1


def test_cases_list_and_show_take_no_write_lock(
        sqlite_db: Engine, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """A supervisor's `lk3 cases list` and `show` never wait for (or hold up) a writer."""
    case_id = open_case(sqlite_db, clock, "P2")
    with sqlite_db.connect() as conn:
        number = cases.number_of(conn, case_id)
    with write_lock_held(sqlite_db):
        assert list_cases(sqlite_db, None, False, now=clock()) == 0
        assert show_case(sqlite_db, number, now=clock()) == 0
    assert number in capsys.readouterr().out


def test_the_index_scan_finds_every_case_a_full_scan_would_act_on(
        db: Engine, clock: FrozenClock) -> None:
    """Over 240 cases of every kind and 60 moments (nights, a weekend, a holiday), the cases
    the scheduler acts on are the same as when it read every open case."""
    hours, rng, start = service_hours(), random.Random(15), clock()
    with db.begin() as conn:
        for n in range(240):
            priority = rng.choice(("P0", "P1", "P2", "P3"))
            opened = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
            contact = conversations.touch_contact(conn, "test", f"f{n}", opened)
            case_id, _ = cases.create(conn, contact_id=contact.id, channel="test", data={
                "priority": priority, "reasons": ["r"], "legal_basis": "consent"}, now=opened)
            deadline = hours.deadline(priority, opened)
            values: dict[str, object] = {}
            kind = rng.choice(("waiting", "alerted", "claimed", "answered", "flagged", "closed"))
            if kind == "alerted":  # as the scheduler leaves it: at or after the deadline
                after = deadline + timedelta(minutes=rng.randrange(0, 60 * 24 * 3))
                values = {"last_alert_at": after if priority != "P0" else
                          opened + timedelta(minutes=rng.randrange(0, 600)), "alert_count": 1}
            elif kind != "waiting":
                claimed = opened + timedelta(minutes=rng.randrange(0, 600))
                values = {"status": "closed" if kind == "closed" else "claimed",
                          "assignee_id": None, "claimed_at": claimed,
                          "first_response_at": claimed + timedelta(minutes=5)
                          if kind == "answered" else None,
                          "flagged_at": claimed + timedelta(minutes=rng.randrange(60, 900))
                          if kind == "flagged" else None}
            if values:
                conn.execute(update(cases.CASES).where(cases.CASES.c.id == case_id)
                             .values(**values))
    scheduler = Scheduler(db, clock)
    moments = [start + timedelta(minutes=rng.randrange(0, 60 * 24 * 40)) for _ in range(57)]
    moments += [start + timedelta(days=d) for d in (5, 25, 26)]  # Saturday, 25 and 26 Dec
    found = 0
    with db.connect() as conn:
        every = queue.open_cases_of(conn, queue.OPEN)
        for now in moments:
            full = {c.id for c in every if scheduler.due(c, now)}
            scan = {c.id for c in queue.escalation_candidates(conn, scheduler.bounds(now))
                    if scheduler.due(c, now)}
            assert scan == full, now
            found += len(full)
    assert found > 100  # the moments do find due cases
