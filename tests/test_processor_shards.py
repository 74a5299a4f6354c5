"""Several inbox processors on one SQLite file: each owns a shard of the contacts, reads and
steps its batch before taking the write lock, and redoes under the lock what changed."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.exc import OperationalError

from bot.bench.families import script
from bot.pipeline.processor import Processor, process_all
from bot.service import Service
from storage import cases, conversations, queue
from storage.db import shard_of
from storage.models import (
    Case,
    CaseEvent,
    ConsentRecord,
    Contact,
    Conversation,
    MessageLog,
    OutboxMessage,
)
from tests.conftest import fresh_engine
from tests.dbdump import differences, dump
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


def _replies_and_state(db: Engine, user: str) -> tuple[list[str], str]:
    with db.connect() as conn:
        texts = conn.execute(select(OutboxMessage.payload).where(OutboxMessage.recipient == user)
                             .order_by(OutboxMessage.id)).scalars().all()
        state = conn.execute(select(Conversation.state).join(
            Contact, Contact.id == Conversation.contact_id).where(
            Contact.provider_user_id == user)).scalar_one()
    return [t["text"] for t in texts], state


def test_a_contact_partly_answered_by_another_processor_meanwhile_gets_the_rest_from_there(
        tmp_path: Path, clock: FrozenClock) -> None:
    """Two answers read ahead, both planned and their rows made; another processor answers
    the first before the write lock: the planned rows are not written, the second answer
    is stepped from the conversation as it is then, and the family hears exactly what one
    processor would have told it."""
    results = []
    for overtaken in (False, True):
        folder = tmp_path / f"overtaken-{overtaken}"
        folder.mkdir()
        service = make_service(fresh_engine("sqlite", folder), clock)
        send(service, "u3", "halo")
        process_all(service.processor)
        ids = [send(service, "u3", text) for text in ("1", "3")]
        if overtaken:
            late = Processor(service.db, flows(), clock)
            ahead = late.look()
            assert ahead is not None and [r.msg_ids for r in ahead.ready] == [tuple(ids)]
            assert Processor(service.db, flows(), clock, batch=1).run_once() == 1
            assert late.finish(ahead) == 1 and late.handled == ids[1:]
        process_all(service.processor)
        results.append(_replies_and_state(service.db, "u3"))
        service.db.dispose()
    assert len(results[0][0]) >= 3
    assert results[1] == results[0]


CASE_NUMBER = re.compile(r"LK3-\d{4}-\d{5}")


def _what_families_got(db: Engine) -> dict[str, tuple[Any, ...]]:
    """Per family: every reply text in order (case numbers left out: which family's case
    is made first depends on which processor gets there first), the state it rests in, its
    case's priority and reasons, its audit trail and its consents."""
    with db.connect() as conn:
        replies = conn.execute(select(OutboxMessage.recipient, OutboxMessage.payload)
                               .order_by(OutboxMessage.id)).all()
        rows = conn.execute(select(Contact.provider_user_id, Conversation.state,
                                   Case.priority, Case.reasons, Case.number)
                            .join(Conversation, Conversation.contact_id == Contact.id)
                            .join(Case, Case.id == Conversation.case_id)).all()
        events = conn.execute(select(Contact.provider_user_id, CaseEvent.actor, CaseEvent.kind,
                                     CaseEvent.data)
                              .join(Contact, Contact.id == CaseEvent.contact_id)
                              .order_by(CaseEvent.id)).all()
        consents = conn.execute(select(Contact.provider_user_id, ConsentRecord.choice,
                                       ConsentRecord.legal_basis, ConsentRecord.text_version)
                                .join(Contact, Contact.id == ConsentRecord.contact_id)
                                .order_by(ConsentRecord.id)).all()
    numbers = {user: number for user, *_, number in rows}
    texts: dict[str, list[str]] = {}
    for user, payload in replies:
        told = set(CASE_NUMBER.findall(payload["text"]))
        assert told <= {numbers[user]}, (user, told)  # only ever its own case's number
        texts.setdefault(user, []).append(CASE_NUMBER.sub("LK3-####-#####", payload["text"]))
    trail: dict[str, list[tuple[str, str, str]]] = {}
    for user, actor, kind, data in events:
        masked = CASE_NUMBER.sub("LK3-####-#####", json.dumps(data, sort_keys=True))
        trail.setdefault(user, []).append((actor, kind, masked))
    agreed: dict[str, list[tuple[str, ...]]] = {}
    for user, *consent in consents:
        agreed.setdefault(user, []).append(tuple(consent))
    return {user: (texts[user], state, priority, sorted(reasons), trail.get(user),
                   agreed.get(user))
            for user, state, priority, reasons, _ in rows}


def _rows_written(db: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Per family: its message log and outbox rows in order, every column but the ids of
    rows made in a different order (cases, contacts) and the case number in a text."""
    with db.connect() as conn:
        logs = conn.execute(select(
            Contact.provider_user_id, MessageLog.inbox_id, MessageLog.direction,
            MessageLog.author, MessageLog.text, MessageLog.truncated,
            MessageLog.original_length, MessageLog.media, MessageLog.created_at,
            MessageLog.case_id.is_not(None)).join(Contact, Contact.id == MessageLog.contact_id)
            .order_by(MessageLog.id)).all()
        sent = conn.execute(select(
            Contact.provider_user_id, OutboxMessage.channel, OutboxMessage.recipient,
            OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.attempts,
            OutboxMessage.available_at, OutboxMessage.created_at,
            OutboxMessage.case_id.is_not(None)).join(
                Contact, Contact.id == OutboxMessage.contact_id).order_by(OutboxMessage.id)).all()
    out: dict[str, list[tuple[Any, ...]]] = {}
    for user, *row in [*logs, *sent]:
        out.setdefault(str(user), []).append(tuple(
            CASE_NUMBER.sub("LK3-####-#####", v) if isinstance(v, str) else v for v in row))
    return out


def test_read_ahead_processors_answer_exactly_as_one_processor_does(
        tmp_path: Path, clock: FrozenClock) -> None:
    """The same families, their answers interleaved, through one processor and through two
    reading ahead: every family gets the same replies and ends with the same case, and the
    message log and outbox hold the same rows (read ahead, they are made as tuples)."""
    scripts: dict[str, list[str | dict[str, Any]]] = {
        f"62813{n:05d}": list(script(flows(), n)[0]) for n in range(24)}  # varied paths
    # A long message and a photo, where the answer is a choice: each is logged (the long
    # one truncated) and re-prompted, which reading ahead makes as tuples too.
    scripts["6281300024"] = ["halo", "x" * 5000, *script(flows(), 0)[0][1:]]
    scripts["6281300025"] = ["halo", {"text": "", "media": [{"kind": "photo", "ref": "f-1"}]},
                             *script(flows(), 1)[0][1:]]
    results, rows = [], []
    for shards in (1, 2):
        folder = tmp_path / f"shards-{shards}"
        folder.mkdir()
        service = make_service(fresh_engine("sqlite", folder), clock)
        processors = [service.processor] if shards == 1 else [
            Processor(service.db, flows(), clock, batch=5, shard=(i, 2)) for i in range(2)]
        for turn in range(max(len(s) for s in scripts.values())):
            for user, says in scripts.items():
                if turn < len(says):
                    said = says[turn]
                    if isinstance(said, str):
                        send(service, user, said)
                    else:
                        send(service, user, payload=said)
            while any([p.run_once() for p in processors]):
                pass
        results.append(_what_families_got(service.db))
        rows.append(_rows_written(service.db))
        service.db.dispose()
    assert len(results[0]) == len(scripts)
    assert results[1] == results[0]
    assert rows[1] == rows[0]
    long_one = [r for r in rows[1]["6281300024"] if r[1] == "in" and r[4]]
    assert long_one[0][3:6] == ("x" * 4096, True, 5000)  # truncated, the fact recorded
    photo = [r for r in rows[1]["6281300025"] if r[1] == "in" and r[6]]
    assert photo[0][6] == [{"kind": "photo", "ref": "f-1"}]


def test_a_stored_conversation_reads_as_its_stamp_whatever_its_words(
        lite: Service) -> None:
    """Under the write lock a read-ahead processor compares each conversation's stamp, made
    by SQLite, with the one it made of the row it read: they are equal for any words a
    family may type, and differ once anything in the row changes."""
    for user in ("6281300001", "6281300002"):
        send(lite, user, "halo")
        send(lite, user, "1")
    process_all(lite.processor)
    typed = 'kata "kutip" \\ garis\nbaru\ttab \x01\x1f emoji 😀 عربى ꦲꦤ \u2028 {"a": [1]}'
    with lite.db.begin() as conn:
        ids = [c.id for c in conversations.find_contacts(
            conn, [(CHANNEL, "6281300001"), (CHANNEL, "6281300002")]).values()]
        conn.execute(update(Conversation).where(Conversation.contact_id == ids[0])
                     .values(answers={"kampung": typed, "n": 3, "none": None}, flags=["x"]))
        before = conversations.load_stored(conn, ids)
        assert conversations.stamps(conn, ids) == {
            i: conversations.stamp(row) for i, row in before.items()}
        conversations.set_language(conn, ids[1], "en")
        after = conversations.stamps(conn, ids)
    assert after[ids[0]] == conversations.stamp(before[ids[0]])
    assert after[ids[1]] != conversations.stamp(before[ids[1]])


def _families_through(db: Engine, clock: FrozenClock, processors: list[Processor],
                      crash: Callable[[], None] | None = None) -> None:
    """Twelve families' scripts, turn by turn, through `processors`; `crash` runs once,
    between a look and its finish."""
    service = make_service(db, clock)
    scripts = {f"62815{n:05d}": script(flows(), n)[0] for n in range(12)}
    for turn in range(max(len(s) for s in scripts.values())):
        for user, says in scripts.items():
            if turn < len(says):
                send(service, user, says[turn], message_id=f"{user}-{turn}")
        for p in processors:
            while True:
                ahead = p.look()
                if ahead is None:
                    break
                if crash is not None:
                    crash()
                    crash = None
                    continue  # the look dies with its process: nothing of it was written
                p.finish(ahead)
        clock.advance(minutes=2)


def test_a_processor_that_dies_between_look_and_finish_loses_and_doubles_nothing(
        tmp_path: Path) -> None:
    """A look made and never finished (the process died), then another processor on the
    same messages, and a finish whose write fails half-way (rolled back, tried again):
    the database ends exactly as one processor leaves it, every column of every table."""
    expected_clock, clock = FrozenClock(), FrozenClock()
    (tmp_path / "one").mkdir()
    (tmp_path / "crash").mkdir()
    one = fresh_engine("sqlite", tmp_path / "one")
    _families_through(one, expected_clock, [Processor(one, flows(), expected_clock)])
    db = fresh_engine("sqlite", tmp_path / "crash")
    procs = [Processor(db, flows(), clock, batch=5, shard=(i, 2)) for i in range(2)]
    failed: list[str] = []

    def refuse_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("INSERT INTO outbox") and not failed:
            failed.append(statement)
            raise sqlite3.OperationalError("disk I/O error (injected)")

    def crash() -> None:  # and, from now on, the next finish fails once while writing
        event.listen(db, "before_cursor_execute", refuse_once)

    for p in procs:
        p.finish = _retrying(p.finish)  # type: ignore[method-assign,assignment]
    _families_through(db, clock, procs, crash)
    assert failed, "the injected failure happened"
    assert dump(db) == dump(one), "\n".join(differences(dump(one), dump(db)))
    one.dispose()
    db.dispose()


def _retrying(finish: Callable[[Any], int]) -> Callable[[Any], int]:
    """A worker's loop around one finish: a database error rolls the batch back, and the
    next round starts from a new look (here: the same look again is not reused)."""
    def run(look: Any) -> int:
        try:
            return finish(look)
        except OperationalError:
            return 0  # rolled back: the messages are still pending for the next look
    return run
