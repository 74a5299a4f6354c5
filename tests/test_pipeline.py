"""The inbox-to-outbox pipeline: exactly once, in order per contact, transactional outbox."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from bot.pipeline.processor import Processor
from bot.pipeline.setaside import MAX_ATTEMPTS
from bot.service import Service
from flows.engine import Engine as FlowEngine
from flows.types import Inbound, Snapshot, Turn
from storage import cases, inbox
from storage.models import Contact, Conversation, InboxMessage, MessageLog, OutboxMessage
from tests.conftest import PG_URL, fresh_engine
from tests.support import CHANNEL, CollectingSender, Family, FrozenClock, deliver, flows, send

REPO = Path(__file__).resolve().parent.parent
GREETING = "asisten otomatis"
# the smoke test's answers: greeting to a waiting premarital case, LK3-2026-0000n
# (chat, no danger, agree, adult, premarital, myself, Mimika Baru, no kampung, not injured,
# contact by this chat, no safe times, no message left, no codeword, no account)
INTAKE = ["halo", "1", "3", "1", "2", "9", "1", "1", "LEWATI", "2", "1", "LEWATI", "2",
          "LEWATI", "LEWATI"]


def _count(db: Engine, model: Any, *where: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where))
                   .scalar_one())


def _sent(service: Service) -> CollectingSender:
    sender = service.senders[CHANNEL]
    assert isinstance(sender, CollectingSender)
    return sender


def _inbound_log(db: Engine, user: str) -> list[tuple[int, str]]:
    """(inbox id, text) of a contact's inbound messages as the message log holds them."""
    with db.connect() as conn:
        rows = conn.execute(
            select(MessageLog.inbox_id, MessageLog.text)
            .join(Contact, Contact.id == MessageLog.contact_id)
            .where(Contact.provider_user_id == user, MessageLog.direction == "in")
            .order_by(MessageLog.id)).all()
    return [(int(r.inbox_id), r.text) for r in rows]


def _inbox_row(db: Engine, inbox_id: int) -> Any:
    with db.connect() as conn:
        return conn.execute(select(InboxMessage).where(InboxMessage.id == inbox_id)).one()


def _state(db: Engine, user: str) -> tuple[str, datetime] | None:
    with db.connect() as conn:
        row = conn.execute(select(Conversation.state, Conversation.updated_at)
                           .join(Contact, Contact.id == Conversation.contact_id)
                           .where(Contact.provider_user_id == user)).one_or_none()
    return None if row is None else (row.state, row.updated_at)


def _fault() -> OperationalError:
    return OperationalError("COMMIT", None, Exception("injected fault: disk I/O error"))


@contextmanager
def commit_fails(db: Engine, times: int = 1) -> Iterator[None]:
    """The database refuses the next `times` commits, then works again; removed on exit."""
    left = [times]

    def refuse(_conn: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise _fault()

    event.listen(db, "commit", refuse)
    try:
        yield
    finally:
        event.remove(db, "commit", refuse)


@contextmanager
def outbox_insert_fails(db: Engine) -> Iterator[None]:
    """The database fails the next INSERT into the outbox (after the state was written)."""
    left = [1]

    def refuse(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if left[0] > 0 and statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            left[0] -= 1
            raise _fault()

    event.listen(db, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(db, "before_cursor_execute", refuse)


class StepFailsOn:
    """The real flow engine, except that its step raises (a bug stand-in) on a marked text."""

    def __init__(self, real: FlowEngine, marker: str) -> None:
        self.real, self.marker, self.bundle = real, marker, real.bundle

    def __getattr__(self, name: str) -> Any:  # everything else (flow, ...) is the real engine's
        return getattr(self.real, name)

    def step(self, snap: Snapshot | None, inbound: Inbound, now: datetime,
             language: str = "id") -> Turn:
        if self.marker in inbound.text:
            raise RuntimeError(f"flow bug on {inbound.provider_message_id}")
        return self.real.step(snap, inbound, now, language)


# -- exactly once --------------------------------------------------------------------------------


def test_duplicate_delivery_is_processed_once(service: Service) -> None:
    """A provider delivering the same message twice gets one log row and one set of replies."""
    first = send(service, "u1", "halo", message_id="wamid.dup")
    assert send(service, "u1", "halo", message_id="wamid.dup") is None
    deliver(service)
    assert send(service, "u1", "halo", message_id="wamid.dup") is None  # a late redelivery
    deliver(service)
    assert first is not None
    assert _inbound_log(service.db, "u1") == [(first, "halo")]
    texts = _sent(service).texts("u1")
    assert len(texts) == 1 and GREETING in texts[0]
    assert _count(service.db, InboxMessage) == 1
    assert _count(service.db, OutboxMessage) == 1


def test_failed_commit_leaves_no_trace_and_the_message_is_processed_later(
        service: Service) -> None:
    """A commit the database refuses leaves the message pending, with no reply and no state."""
    inbox_id = send(service, "u1", "halo")
    assert inbox_id is not None
    with commit_fails(service.db), pytest.raises(OperationalError):
        service.processor.run_once()
    assert _count(service.db, OutboxMessage) == 0
    assert _count(service.db, Conversation) == 0
    assert _count(service.db, Contact) == 0
    assert _count(service.db, MessageLog) == 0
    row = _inbox_row(service.db, inbox_id)
    assert (row.processed_at, row.attempts, row.last_error) == (None, 0, None)
    deliver(service)
    texts = _sent(service).texts("u1")
    assert len(texts) == 1 and GREETING in texts[0]
    assert _inbound_log(service.db, "u1") == [(inbox_id, "halo")]
    assert _inbox_row(service.db, inbox_id).processed_at is not None


# -- a failing message does not hold up the others, and is never lost ---------------------------


def test_a_message_that_breaks_the_flow_is_set_aside_after_retries(service: Service) -> None:
    """A message whose processing keeps failing is retried, then kept aside with an apology."""
    processor = Processor(service.db, StepFailsOn(flows(), "BOOM"),  # type: ignore[arg-type]
                          service.clock)
    send(service, "a", "halo")
    bad = send(service, "b", "BOOM")
    send(service, "c", "halo")
    later = send(service, "b", "halo")
    send(service, "a", "1")
    assert bad is not None and later is not None

    # a's two and c's one are handled despite b's failure; b's failed attempt is counted
    # too (attempts, so a caller looping until 0 keeps going until it is set aside)
    assert processor.run_once() == 4
    assert [t for _, t in _inbound_log(service.db, "a")] == ["halo", "1"]
    assert [t for _, t in _inbound_log(service.db, "c")] == ["halo"]
    row = _inbox_row(service.db, bad)
    assert (row.processed_at, row.attempts) == (None, 1)
    assert row.last_error == f"RuntimeError: flow bug on {row.provider_message_id}"
    assert _inbox_row(service.db, later).processed_at is None  # b's line waits behind it
    assert _count(service.db, OutboxMessage, OutboxMessage.recipient == "b") == 0

    for attempt in range(2, MAX_ATTEMPTS + 1):
        processor.run_once()
        assert _inbox_row(service.db, bad).attempts == attempt
    row = _inbox_row(service.db, bad)
    assert row.processed_at is not None  # set aside: out of the line, but kept
    assert row.payload == {"text": "BOOM"}
    assert row.last_error.startswith("RuntimeError")

    service.processor = processor
    deliver(service)
    apology = flows().bundle.catalog.text("internal_error", "id")
    texts = _sent(service).texts("b")
    assert texts[0] == apology and GREETING in texts[1] and len(texts) == 2
    assert _inbound_log(service.db, "b") == [(bad, "BOOM"), (later, "halo")]
    assert _inbox_row(service.db, later).processed_at is not None
    with service.db.connect() as conn:
        kinds = conn.execute(select(cases.EVENTS.c.kind, cases.EVENTS.c.data)).all()
    assert ("message_set_aside", {"inbox_id": bad}) in [(k, d) for k, d in kinds]


def test_a_malformed_stored_payload_is_set_aside_and_others_go_on(service: Service) -> None:
    """A stored payload the processor cannot read is retried, set aside; other contacts go on."""
    bad = send(service, "b", payload={"text": "foto", "media": [{"ref": "file-1"}]})  # no kind
    assert bad is not None
    for n in range(MAX_ATTEMPTS):
        send(service, f"other{n}", "halo")
        service.processor.run_once()
        assert _inbound_log(service.db, f"other{n}") != []
    row = _inbox_row(service.db, bad)
    assert row.attempts == MAX_ATTEMPTS and row.processed_at is not None
    assert row.last_error == "KeyError: 'kind'"
    deliver(service)
    assert _sent(service).texts("b") == [flows().bundle.catalog.text("internal_error", "id")]


# -- order per contact ---------------------------------------------------------------------------


def test_messages_of_one_contact_are_processed_in_the_order_stored(service: Service) -> None:
    """A contact's messages are logged in the order they arrived, across many small batches."""
    processor = Processor(service.db, flows(), service.clock, batch=3)
    stored: dict[str, list[tuple[int, str]]] = {"a": [], "b": []}
    for i in range(60):  # more than one contact's page of pending messages
        for user in ("a", "b") if i % 3 else ("a",):
            text = f"pesan {user} {i}"
            inbox_id = send(service, user, text)
            assert inbox_id is not None
            stored[user].append((inbox_id, text))
    while processor.run_once():
        pass
    assert _inbound_log(service.db, "a") == stored["a"]
    assert _inbound_log(service.db, "b") == stored["b"]


def test_answers_typed_ahead_are_applied_in_order(service: Service) -> None:
    """A family that sends all its answers before the bot runs still reaches the right case."""
    for text in INTAKE:
        send(service, "fast", text)
    deliver(service)
    assert [t for _, t in _inbound_log(service.db, "fast")] == INTAKE
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert (case.number, case.status, case.category) == ("LK3-2026-00001", "waiting",
                                                         "premarital")
    assert "LK3-2026-00001" in _sent(service).texts("fast")[-1]


# -- the transactional outbox --------------------------------------------------------------------


@pytest.mark.parametrize("fault", [commit_fails, outbox_insert_fails])
def test_state_change_and_replies_commit_together(service: Service, fault: Any) -> None:
    """A failed transaction keeps neither the new state nor its replies; a good one keeps both."""
    fam = Family(service, "u1")
    assert GREETING in fam.say("halo")[0]
    before = _state(service.db, "u1")
    outbox_before = _count(service.db, OutboxMessage)
    inbox_id = send(service, "u1", "1")  # "Lanjut chat": moves the conversation on
    with fault(service.db), pytest.raises(OperationalError):
        service.processor.run_once()
    assert _state(service.db, "u1") == before
    assert _count(service.db, OutboxMessage) == outbox_before
    assert _count(service.db, OutboxMessage,
                  OutboxMessage.dedupe_key.like(f"in:{inbox_id}:%")) == 0
    assert _inbox_row(service.db, inbox_id).processed_at is None
    deliver(service)
    after = _state(service.db, "u1")
    assert after is not None and before is not None and after[0] != before[0]
    assert _count(service.db, OutboxMessage,
                  OutboxMessage.dedupe_key.like(f"in:{inbox_id}:%")) >= 1
    texts = _sent(service).texts("u1")
    assert len(texts) == 2 and "bahaya" in texts[1]


# -- several worker processes on PostgreSQL -------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_two_worker_processes_process_each_message_once_in_order(tmp_path: Path) -> None:
    """Two processes on one PostgreSQL database: every message once, each contact in order."""
    db = fresh_engine("postgresql", tmp_path)
    done = tmp_path / "producer-done"
    cmd = [sys.executable, "-m", "tests.workers_proc", PG_URL, "5", str(done), "120"]
    workers = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        users = [f"6281200000{n:03d}" for n in range(30)]
        stored: dict[str, list[int]] = {u: [] for u in users}
        now = FrozenClock()()
        for step, text in enumerate(INTAKE):  # interleaved: everyone's first, then second, …
            for user in users:
                with db.begin() as conn:
                    inbox_id = inbox.store(conn, channel=CHANNEL, provider_message_id=
                                           f"{user}-{step}", sender=user,
                                           payload={"text": text}, now=now)
                assert inbox_id is not None
                stored[user].append(inbox_id)
        done.touch()
        reports = []
        for w in workers:
            out, _ = w.communicate(timeout=180)
            assert w.returncode == 0, out
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    total = len(users) * len(INTAKE)
    assert sum(r["handled"] for r in reports) == total
    assert all(r["handled"] > 0 for r in reports), reports  # both really worked
    with db.connect() as conn:
        pending = conn.execute(select(func.count()).select_from(InboxMessage).where(
            (InboxMessage.processed_at.is_(None)) | (InboxMessage.attempts > 0))).scalar_one()
        logged = conn.execute(select(MessageLog.inbox_id).where(MessageLog.direction == "in")
                              ).scalars().all()
        numbers = sorted(c.number for c in cases.list_cases(conn, status="waiting"))
    assert pending == 0
    assert len(logged) == total and len(set(logged)) == total  # each exactly once
    for user in users:
        assert [i for i, _ in _inbound_log(db, user)] == stored[user]
    assert numbers == [f"LK3-2026-{n:05d}" for n in range(1, len(users) + 1)]
    db.dispose()
