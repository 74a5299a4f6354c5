"""Every SQLite writer takes its turn on the writers' lock file; none polls for the lock.

Also a helper process for the ops tests, run as
`python -m tests.test_ops_writers inbox|cases URL TAG STOP_FILE`: it writes in a loop, one
transaction after another as the channel adapters do, until STOP_FILE exists. It prints
`ready` after its first commit, and with `cases` the number of each case once committed.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from storage import cases, conversations, counselors, inbox, queue
from storage.db import make_engine, writing
from tests.support import FrozenClock, install_test_keys

ROWS_PER_COMMIT = 100  # the adapters store a burst in one transaction
BUSY_MS = 200  # the claimers' SQLite busy timeout here (10 s in service)


def write_case(conn: Any, tag: str, n: int, now: datetime) -> str:
    contact = conversations.touch_contact(conn, "test", f"{tag}-{n}", now)
    _, number = cases.create(conn, contact_id=contact.id, channel="test", now=now, data={
        "priority": "P2", "reasons": ["couple_conflict"], "category": "couple",
        "distrik": "mimika_baru", "legal_basis": "consent", "status": "waiting"})
    return str(number)


def writer(kind: str, url: str, tag: str, stop: Path) -> None:
    db = make_engine(url)
    n = 0
    while n == 0 or not stop.exists():
        now = datetime.now(UTC)
        with writing(db) as conn:
            if kind == "cases":
                number = write_case(conn, tag, n, now)
            else:
                for i in range(ROWS_PER_COMMIT):
                    inbox.store(conn, channel="test", provider_message_id=f"{tag}-{n}-{i}",
                                sender=f"{tag}-{i % 9}", payload={"text": "halo"}, now=now)
        if n == 0:
            print("ready", flush=True)
        if kind == "cases":
            print(number, flush=True)
        n += 1
    db.dispose()


@contextmanager
def writers(kind: str, url: str, stop: Path, count: int = 2
            ) -> Iterator[list[subprocess.Popen[str]]]:
    """Writer processes in a burst until the block ends (each has committed once when it
    starts)."""
    procs = [subprocess.Popen([sys.executable, "-m", "tests.test_ops_writers", kind, url,
                               f"w{i}", str(stop)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parent.parent)
             for i in range(count)]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        yield procs
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=60)
    assert all(p.returncode == 0 for p in procs)


def test_twenty_claimers_during_a_burst_all_get_an_answer(sqlite_db: Engine,
                                                          tmp_path: Path) -> None:
    """20 counselors claiming at once while adapters write get a case or 'gone', never an error."""
    clock = FrozenClock()
    with sqlite_db.begin() as conn:
        ids = [counselors.add(conn, name=f"Petugas {i}", role="counselor", now=clock(),
                              capacity=5) for i in range(20)]
        for i in range(10):
            write_case(conn, "family", i, clock())
    url = sqlite_db.url.render_as_string(hide_password=False)
    claimers = make_engine(url, pool_size=len(ids), max_overflow=0)

    @event.listens_for(claimers, "connect")
    def _impatient(dbapi_conn: Any, _record: Any) -> None:
        # A writer that relied on SQLite's polling busy handler would fail here within
        # BUSY_MS; one that waits in line never finds the database locked.
        dbapi_conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")

    start = threading.Barrier(len(ids))
    answers: dict[int, str] = {}
    errors: list[str] = []

    def claim(cid: int) -> None:
        start.wait()
        try:
            with claimers.begin() as conn:
                outcome, case = queue.claim(conn, cid, clock())
            answers[cid] = case.number if outcome == "ok" and case else outcome
        except Exception as exc:  # what the test is about
            errors.append(f"{type(exc).__name__}: {exc}")

    with writers("inbox", url, tmp_path / "stop"):
        threads = [threading.Thread(target=claim, args=(cid,)) for cid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    claimers.dispose()
    assert errors == []
    got = [a for a in answers.values() if a.startswith("LK3-")]
    assert len(answers) == 20 and len(got) == len(set(got)) == 10
    assert sorted(a for a in answers.values() if not a.startswith("LK3-")) == ["gone"] * 10


if __name__ == "__main__":
    install_test_keys()
    writer(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]))
