"""Several inbox processors on one SQLite file: each owns a shard of the contacts, reads and
steps its batch before taking the write lock, and redoes under the lock what changed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from bot.processor import Processor
from bot.service import Service
from storage import cases, queue
from storage.db import shard_of
from storage.models import Contact, MessageLog, OutboxMessage
from tests.support import CHANNEL, FrozenClock, deliver, flows, make_service, send
from tests.test_handoff import Person, add_staff
from tests.test_pipeline import INTAKE


@pytest.fixture
def lite(sqlite_db: Engine, clock: FrozenClock) -> Service:
    """The service on SQLite: reading ahead is how processors share a SQLite file."""
    return make_service(sqlite_db, clock)


def _logged_in(db: Engine) -> dict[str, list[int]]:
    """Each contact's inbound inbox ids in the order the message log holds them."""
    with db.connect() as conn:
        rows = conn.execute(select(Contact.provider_user_id, MessageLog.inbox_id)
                            .join(Contact, Contact.id == MessageLog.contact_id)
                            .where(MessageLog.direction == "in").order_by(MessageLog.id)).all()
    out: dict[str, list[int]] = {}
    for user, inbox_id in rows:
        out.setdefault(user, []).append(int(inbox_id))
    return out


def test_two_sharded_processors_share_the_contacts_and_keep_each_ones_order(
        lite: Service) -> None:
    """Every message once, each contact's in arrival order, each processor only its own."""
    shards = [Processor(lite.db, flows(), lite.clock, batch=7, shard=(i, 2)) for i in range(2)]
    users = [f"62812{n:05d}" for n in range(12)]
    stored: dict[str, list[int]] = {u: [] for u in users}
    for text in INTAKE:  # interleaved: everyone's first answer, then everyone's second, ...
        for user in users:
            inbox_id = send(lite, user, text)
            assert inbox_id is not None
            stored[user].append(inbox_id)
    mine: list[set[str]] = [set(), set()]
    while any([p.run_once() for p in shards]):  # both every round, in turn
        for i, p in enumerate(shards):
            mine[i].update(f"{CHANNEL}:{u}" for u in users
                           if any(x in stored[u] for x in p.handled))
    assert all(mine), "both processors worked"
    for i, keys in enumerate(mine):
        assert {shard_of(k, 2) for k in keys} == {i}
    assert _logged_in(lite.db) == stored
    with lite.db.connect() as conn:
        waiting = cases.list_cases(conn, status="waiting")
    assert len(waiting) == len(users)


def test_a_batch_another_processor_took_first_is_not_done_twice(lite: Service) -> None:
    """Read ahead, then overtaken: the late processor writes nothing for those messages."""
    service = lite
    send(service, "u1", "halo")
    late = Processor(service.db, flows(), service.clock)
    ahead = late.look()
    assert ahead is not None
    assert service.processor.run_once() == 1
    with service.db.connect() as conn:
        replies = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    assert late.finish(ahead) == 1 and late.handled == []
    with service.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxMessage)
                            ).scalar_one() == replies
    assert _logged_in(service.db) == {"u1": [ahead.msgs[0].id]}


def test_a_claim_made_while_a_batch_was_read_ahead_sends_the_message_to_the_counselor(
        lite: Service) -> None:
    """The bot had planned its answer; the case was claimed meanwhile: the person hears it."""
    service = lite
    sari_id, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    sari.unread()
    send(service, "62811", "suami saya sudah pulang")
    ahead = service.processor.look()
    assert ahead is not None and ahead.plans  # the bot's answer, computed before the lock
    with service.db.begin() as conn:  # Sari takes the case in between
        status, case = queue.claim(conn, sari_id, service.clock(), number)
    assert status == "ok" and case is not None
    assert service.processor.finish(ahead) == 1
    deliver(service)
    assert family.unread() == []  # not the bot's planned answer: a person has the case now
    heard = [p["text"] for p in sari.unread()]
    assert any("suami saya sudah pulang" in t for t in heard), heard
