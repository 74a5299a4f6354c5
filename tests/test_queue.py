"""The counselor queue: most urgent first, then longest waiting; concurrent claims are atomic."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from storage import cases, conversations, counselors, queue
from storage.db import make_engine
from storage.models import Case
from storage.queue import CaseView
from tests.support import FrozenClock

CLAIMERS = 20
CASES = 200
PRIORITIES = ("P0", "P1", "P2", "P3")


def _case(conn: Connection, user: str, priority: str, created: datetime) -> int:
    contact = conversations.touch_contact(conn, "test", user, created)
    case_id, _ = cases.create(conn, contact_id=contact.id, channel="test", now=created, data={
        "priority": priority, "reasons": [f"reason {user}"], "category": "dv",
        "distrik": "mimika_baru", "legal_basis": "consent", "status": "waiting"})
    return case_id


def _mixed_cases(db: Engine, clock: FrozenClock, n: int = CASES) -> None:
    """n waiting cases, priorities mixed, inserted out of queue order, some created together."""
    rng = random.Random(25_2017)
    with db.begin() as conn:
        for i in range(n):
            created = clock() - timedelta(minutes=rng.randrange(0, 60))  # ties on purpose
            _case(conn, f"fam{i}", rng.choice(PRIORITIES), created)


def _queue_key(c: CaseView) -> tuple[str, datetime, int]:
    return (c.priority, c.created_at, c.id)


def _all_cases(db: Engine) -> list[CaseView]:
    with db.connect() as conn:
        return queue.open_cases_of(conn, ("waiting", "claimed", "closed"))


def _counselors(db: Engine, clock: FrozenClock, n: int, capacity: int) -> list[int]:
    with db.begin() as conn:
        return [counselors.add(conn, name=f"Petugas {i}", role="counselor", now=clock(),
                               capacity=capacity) for i in range(n)]


def _claim_race(db: Engine, clock: FrozenClock, ids: list[int],
                number: str | None = None, once: bool = False
                ) -> dict[int, list[tuple[str, CaseView | None]]]:
    """Every counselor claims in its own thread and connection, all starting together,
    until it is full or nothing is left (or once); returns each one's results in order."""
    engine = make_engine(db.url.render_as_string(False), pool_size=len(ids) + 2,
                         max_overflow=0)
    start = threading.Barrier(len(ids))
    results: dict[int, list[tuple[str, CaseView | None]]] = {cid: [] for cid in ids}
    errors: list[BaseException] = []

    def run(cid: int) -> None:
        try:
            start.wait()
            while True:
                with engine.begin() as conn:
                    outcome, case = queue.claim(conn, cid, clock(), number)
                results[cid].append((outcome, case))
                if outcome != "ok" or once:
                    return
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    assert not any(t.is_alive() for t in threads), "a claimer hung"
    assert not errors, errors
    return results


def _claimed(results: dict[int, list[tuple[str, Any]]]) -> dict[int, list[CaseView]]:
    return {cid: [c for o, c in rs if o == "ok"] for cid, rs in results.items()}


def test_queue_order_is_priority_then_longest_waiting(db: Engine, clock: FrozenClock) -> None:
    """The queue lists the most urgent first, then the longest waiting, then the oldest id."""
    with db.begin() as conn:
        p2_old = _case(conn, "a", "P2", clock() - timedelta(hours=5))
        p0_new = _case(conn, "b", "P0", clock())
        p1_same_1 = _case(conn, "c", "P1", clock() - timedelta(hours=1))
        p3_oldest = _case(conn, "d", "P3", clock() - timedelta(days=3))
        p1_same_2 = _case(conn, "e", "P1", clock() - timedelta(hours=1))
        p1_older = _case(conn, "f", "P1", clock() - timedelta(hours=2))
        order = [c.id for c in queue.waiting(conn, limit=10)]
    assert order == [p0_new, p1_older, p1_same_1, p1_same_2, p2_old, p3_oldest]


def test_claim_takes_most_urgent_and_release_keeps_its_place(db: Engine,
                                                             clock: FrozenClock) -> None:
    """A claim takes the head of the queue; a released case returns to its old place."""
    (sari,) = _counselors(db, clock, 1, capacity=5)
    with db.begin() as conn:
        p2 = _case(conn, "a", "P2", clock() - timedelta(hours=3))
        p1 = _case(conn, "b", "P1", clock())
        outcome, case = queue.claim(conn, sari, clock(), None)
        assert outcome == "ok" and case is not None and case.id == p1
        assert case.status == "claimed" and case.assignee_id == sari
        assert case.claimed_at == clock()
        queue.release(conn, p1, clock())
        assert [c.id for c in queue.waiting(conn)] == [p1, p2]
        released = queue.by_id(conn, p1)
        assert released is not None and released.assignee_id is None
        assert released.claimed_at is None


def test_claim_by_number_takes_only_that_waiting_case(db: Engine, clock: FrozenClock) -> None:
    """A named claim takes that case even if others are more urgent, and never a held one."""
    sari, budi = _counselors(db, clock, 2, capacity=5)
    with db.begin() as conn:
        _case(conn, "a", "P0", clock())
        p3 = _case(conn, "b", "P3", clock())
        number = cases.number_of(conn, p3)
        outcome, case = queue.claim(conn, sari, clock(), number.lower())
        assert outcome == "ok" and case is not None and case.id == p3
        assert queue.claim(conn, budi, clock(), number) == ("gone", None)
        assert queue.claim(conn, budi, clock(), "LK3-2026-99999") == ("gone", None)


def test_claim_respects_capacity(db: Engine, clock: FrozenClock) -> None:
    """A counselor at capacity gets "full" and nothing is claimed; closing frees a place."""
    (sari,) = _counselors(db, clock, 1, capacity=2)
    with db.begin() as conn:
        ids = [_case(conn, f"f{i}", "P2", clock() - timedelta(minutes=10 - i))
               for i in range(3)]
        assert [queue.claim(conn, sari, clock())[0] for _ in range(3)] == ["ok", "ok", "full"]
        assert [c.id for c in queue.waiting(conn)] == [ids[2]]
        queue.close(conn, ids[0], "selesai", clock())
        outcome, case = queue.claim(conn, sari, clock())
        assert outcome == "ok" and case is not None and case.id == ids[2]


def test_concurrent_claims_take_every_case_exactly_once(db: Engine, clock: FrozenClock) -> None:
    """20 counselors (capacity 10) racing for 200 cases: each claimed once, none over
    capacity, and each counselor's claims come in queue order."""
    _mixed_cases(db, clock)
    ids = _counselors(db, clock, CLAIMERS, capacity=10)
    claimed = _claimed(_claim_race(db, clock, ids))
    taken = [c.id for cs in claimed.values() for c in cs]
    assert len(taken) == CASES and len(set(taken)) == CASES
    assert all(len(cs) <= 10 for cs in claimed.values())
    for cs in claimed.values():  # the queue only ever advances, so each sequence ascends
        keys = [_queue_key(c) for c in cs]
        assert keys == sorted(keys)
    final = _all_cases(db)
    assert len(final) == CASES and all(c.status == "claimed" for c in final)
    owners = {c.id: c.assignee_id for cs in claimed.values() for c in cs}
    assert {c.id: c.assignee_id for c in final} == owners
    assert Counter(c.assignee_id for c in final) == {cid: len(cs) for cid, cs in claimed.items()
                                                    if cs}


def test_concurrent_claims_with_capacity_five_take_the_hundred_most_urgent(
        db: Engine, clock: FrozenClock) -> None:
    """20 counselors of capacity 5 (the default) racing for 200 cases claim exactly the 100
    most urgent (priority, then created_at), five each, and leave the rest waiting."""
    _mixed_cases(db, clock)
    ids = _counselors(db, clock, CLAIMERS, capacity=5)
    results = _claim_race(db, clock, ids)
    claimed = _claimed(results)
    assert all(len(cs) == 5 for cs in claimed.values())
    assert all(rs[-1][0] == "full" for rs in results.values())
    expected = sorted(_all_cases(db), key=_queue_key)
    taken = {c.id for cs in claimed.values() for c in cs}
    assert taken == {c.id for c in expected[:100]}
    final = {c.id: c for c in _all_cases(db)}
    assert all(final[c.id].status == "waiting" for c in expected[100:])
    with db.connect() as conn:
        per_owner = dict(conn.execute(select(Case.assignee_id, func.count()).where(
            Case.status == "claimed").group_by(Case.assignee_id)).all())
    assert per_owner == dict.fromkeys(ids, 5)


def test_concurrent_claims_of_one_named_case_have_one_winner(db: Engine,
                                                             clock: FrozenClock) -> None:
    """20 counselors pressing "Ambil" on the same case at once: one gets it, 19 hear "gone"."""
    with db.begin() as conn:
        number = cases.number_of(conn, _case(conn, "a", "P0", clock()))
        _case(conn, "b", "P0", clock() - timedelta(hours=1))  # more urgent, must stay put
    ids = _counselors(db, clock, CLAIMERS, capacity=5)
    results = _claim_race(db, clock, ids, number=number, once=True)
    outcomes = Counter(rs[0][0] for rs in results.values())
    assert outcomes == {"ok": 1, "gone": CLAIMERS - 1}
    winner = next(cid for cid, rs in results.items() if rs[0][0] == "ok")
    with db.connect() as conn:
        case = queue.by_number(conn, number)
        assert case is not None and case.assignee_id == winner
        assert len(queue.waiting(conn)) == 1
