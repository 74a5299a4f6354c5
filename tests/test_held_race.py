"""A counselor taking a case while the family's message is being processed loses nothing.

Staff set the conversation's flags (with_person, held_for_writer: bot.pipeline.held.mark)
outside the processor's per-contact lock. On PostgreSQL a processor that had read the
conversation before the counselor's transaction committed wrote its stale flags back over
them: the family's message was answered by the bot as if nobody held the case, and the
takeover notice kept waiting. On SQLite the processor under the write lock is the only
writer, and what several processors decide ahead is written only where the conversation
is still stored as read (its stamp). Both orders are made here through the real functions,
the two transactions interleaved by the database's own locks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, select, text

from bot.casework import caseops
from bot.pipeline.processor import Processor, process_all
from bot.service import Service
from flows.actions import HELD_FOR_WRITER, WITH_PERSON
from storage import conversations, counselors, inbox
from storage.db import writing
from storage.models import Contact
from tests.support import CHANNEL, FrozenClock, deliver, flows, make_service
from tests.test_handoff import add_staff, case_of
from tests.test_held_for_writer import JOINED, LATER, texts, watched_case


def flags_of(db: Engine, user: str) -> list[str]:
    """The flags of this family's conversation as stored."""
    with db.connect() as conn:
        contact_id = conn.execute(select(Contact.id).where(
            Contact.provider_user_id == user)).scalar_one()
        conv = conversations.load(conn, contact_id)
    assert conv is not None
    return list(conv.flags)


def _someone_waits_for_a_lock(db: Engine) -> bool:
    with db.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar())


def _until(done: Callable[[], bool], thread: threading.Thread) -> None:
    """Until `done` or the thread ended (it did not wait after all); 30 s at most."""
    limit = time.monotonic() + 30
    while not done() and thread.is_alive():
        assert time.monotonic() < limit, "the processor never waited for the counselor"


def _take(service: Service, cid: int, number: str, meanwhile: Callable[[], None]) -> None:
    """Sari's /ambil in one transaction (as the console does it), `meanwhile` run before
    it commits."""
    with writing(service.db) as conn:
        me = counselors.get(conn, cid)
        assert me is not None
        act = caseops.Act(conn, me, service.clock(), service.flows.bundle.catalog)
        done, _ = caseops.take(act, number)
        assert done.ok and done.held == "contact_constraint"
        meanwhile()


def _her_message(service: Service, words: str) -> None:
    with service.db.begin() as conn:
        inbox.store(conn, channel=CHANNEL, sender="62811", payload={"text": words},
                    provider_message_id="race-1", now=service.clock())


def test_a_family_writing_while_her_case_is_taken_hears_the_takeover(
        service: Service, clock: FrozenClock) -> None:
    """Her message is processed while Sari's taking of the case (held: someone reads her
    phone) is not yet committed: she gets the takeover notice first and her words reach
    Sari, not the bot's answer; nothing stays held and the conversation says a person
    holds it."""
    cid, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    _her_message(service, "halo kaka")
    failed: list[BaseException] = []

    def process() -> None:
        try:
            process_all(service.processor)
        except BaseException as exc:  # reported below
            failed.append(exc)

    worker = threading.Thread(target=process)

    def meanwhile() -> None:
        worker.start()
        if service.db.dialect.name == "postgresql":  # SQLite: it waits for the write lock
            _until(lambda: _someone_waits_for_a_lock(service.db), worker)

    _take(service, cid, number, meanwhile)
    worker.join(60)
    assert not failed and not worker.is_alive()
    deliver(service)

    heard = texts(family)
    assert heard and heard[0].startswith(JOINED), heard
    assert f"[{number}] halo kaka" in texts(sari)
    flags = flags_of(service.db, "62811")
    assert WITH_PERSON in flags and HELD_FOR_WRITER not in flags


def test_a_decision_read_ahead_is_not_written_over_a_counselors_taking(
        sqlite_db: Engine, clock: FrozenClock) -> None:
    """SQLite with several processors: her message decided before the write lock, then
    Sari takes the case; under the lock the processor sees the conversation changed (its
    flags are in the stamp) and decides again: the takeover first, her words to Sari."""
    service = make_service(sqlite_db, clock)
    cid, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    _her_message(service, "halo kaka")
    ahead = Processor(sqlite_db, flows(), clock, shard=(0, 1))
    look = ahead.look()
    assert look is not None and look.ready  # decided ahead: the bot would answer her
    _take(service, cid, number, lambda: None)
    assert ahead.finish(look) == 1
    deliver(service)

    assert texts(family)[0].startswith(JOINED)
    assert f"[{number}] halo kaka" in texts(sari)
    assert case_of(sqlite_db, "62811").status == "claimed"
