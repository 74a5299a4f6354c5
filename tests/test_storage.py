"""The storage layer on every backend: inbox, case numbers and queue, outbox claims, contacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from storage import cases, conversations, inbox, outbox
from storage.clock import utc
from storage.db import BUSY_TIMEOUT_MS, CHECKPOINT_PAGES
from storage.models import Contact, InboxMessage, OutboxMessage
from tests.support import FrozenClock


def _store(conn: Connection, clock: FrozenClock, sender: str, pmid: str,
           channel: str = "test", text: str = "halo") -> int | None:
    return inbox.store(conn, channel=channel, provider_message_id=pmid, sender=sender,
                       payload={"text": text}, now=clock())


def _contact(conn: Connection, clock: FrozenClock, user: str = "u1") -> int:
    return conversations.touch_contact(conn, "test", user, clock()).id


def _case_data(priority: str, *reasons: str, basis: str = "consent") -> dict[str, Any]:
    return {"priority": priority, "reasons": list(reasons), "legal_basis": basis}


def _reply(recipient: str, key: str, channel: str = "test") -> dict[str, Any]:
    return {"channel": channel, "recipient": recipient, "contact_id": None, "case_id": None,
            "payload": {"text": key}, "dedupe_key": key}


def _claim(db: Engine, clock: FrozenClock, **kw: Any) -> list[outbox.Outgoing]:
    with db.begin() as conn:
        return outbox.claim_due(conn, clock(), ["test"], **kw)


# -- the inbox ---------------------------------------------------------------------------------


def test_inbox_store_is_idempotent_per_channel_and_message_id(db: Engine,
                                                              clock: FrozenClock) -> None:
    """A provider message id is stored once per channel; a redelivery gives None."""
    with db.begin() as conn:
        first = _store(conn, clock, "u1", "wamid.1")
    with db.begin() as conn:
        again = _store(conn, clock, "u1", "wamid.1", text="changed on redelivery")
    with db.begin() as conn:
        other_channel = _store(conn, clock, "u1", "wamid.1", channel="other")
    assert isinstance(first, int)
    assert again is None
    assert isinstance(other_channel, int) and other_channel != first
    with db.connect() as conn:
        rows = conn.execute(select(InboxMessage.channel, InboxMessage.payload)
                            .order_by(InboxMessage.id)).all()
    assert [(r.channel, r.payload["text"]) for r in rows] == [("test", "halo"),
                                                              ("other", "halo")]


def test_inbox_pending_is_in_arrival_order(db: Engine, clock: FrozenClock) -> None:
    """Pending messages come back oldest first, overall, per contact and by contact."""
    order = [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("a", "5")]
    with db.begin() as conn:
        ids = {pmid: _store(conn, clock, who, pmid) for who, pmid in order}
    with db.connect() as conn:
        batch = inbox.pending_batch(conn, 10)
        assert [m.provider_message_id for m in batch] == ["1", "2", "3", "4", "5"]
        assert [m.id for m in batch] == [ids[p] for p in "12345"]
        assert inbox.pending_contacts(conn, 10) == ["test:b", "test:a", "test:c"]
        assert inbox.pending_contacts(conn, 2) == ["test:b", "test:a"]
        assert [m.provider_message_id for m in inbox.pending_for(conn, "test:a")] == ["2", "5"]
        assert [m.provider_message_id for m in inbox.pending_for(conn, "test:b", 1)] == ["1"]
        assert batch[0].payload == {"text": "halo"} and batch[0].attempts == 0
        assert batch[0].sender == "b" and batch[0].contact_key == "test:b"
        assert inbox.backlog(conn) == 5


def test_inbox_mark_processed_takes_messages_out_of_the_line(db: Engine,
                                                             clock: FrozenClock) -> None:
    """A processed message is no longer pending, and the next one becomes the head."""
    with db.begin() as conn:
        first = _store(conn, clock, "a", "1")
        _store(conn, clock, "a", "2")
        _store(conn, clock, "b", "3")
    assert first is not None
    with db.begin() as conn:
        inbox.mark_processed(conn, [first], clock())
    with db.connect() as conn:
        assert [m.provider_message_id for m in inbox.pending_batch(conn, 10)] == ["2", "3"]
        assert inbox.pending_contacts(conn, 10) == ["test:a", "test:b"]
        assert inbox.backlog(conn) == 2
        processed = conn.execute(select(InboxMessage.processed_at)
                                 .where(InboxMessage.id == first)).scalar_one()
    assert utc(processed) == clock()


# -- cases ---------------------------------------------------------------------------------------


def test_case_numbers_count_up_and_restart_each_year(db: Engine, clock: FrozenClock) -> None:
    """Case numbers are LK3-<year>-00001, 00002, … and start again at 00001 in a new year."""
    numbers = []
    with db.begin() as conn:
        contact = _contact(conn, clock)
    for when in (clock(), clock() + timedelta(days=1), datetime(2027, 1, 1, 0, 5, tzinfo=UTC),
                 datetime(2027, 1, 2, tzinfo=UTC)):
        with db.begin() as conn:
            _, number = cases.create(conn, contact_id=contact, channel="test",
                                     data=_case_data("P3", "r"), now=when)
        numbers.append(number)
    assert numbers == ["LK3-2026-00001", "LK3-2026-00002", "LK3-2027-00001", "LK3-2027-00002"]


def _raise(conn: Connection, case_id: int, data: dict[str, Any], now: datetime) -> None:
    """What the processor does with an intake's case_upsert for an existing case."""
    raised = cases.triage_of(conn, case_id).raised(data)
    cases.save_triage(conn, [{"id": case_id, **raised.values(now)}])


def test_case_priority_only_goes_up_and_reasons_accumulate(db: Engine,
                                                           clock: FrozenClock) -> None:
    """Triage.raised: P2 then P0 gives P0; P0 then P3 stays P0; every reason is kept once."""
    with db.begin() as conn:
        case_id, _ = cases.create(conn, contact_id=_contact(conn, clock), channel="test",
                                  data=_case_data("P2", "child", basis="vital_interest"),
                                  now=clock())
    with db.begin() as conn:
        _raise(conn, case_id, _case_data("P0", "danger", basis="vital_interest"), clock())
    with db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert case.priority == "P0"
    assert sorted(case.reasons) == ["child", "danger"]
    with db.begin() as conn:
        _raise(conn, case_id, _case_data("P3", "child", "premarital"), clock())
    with db.connect() as conn:
        (case,) = cases.list_cases(conn)
    assert case.priority == "P0"
    assert sorted(case.reasons) == ["child", "danger", "premarital"]
    assert case.legal_basis == "consent"  # consent given later is kept


def test_case_queue_lists_most_urgent_first_then_longest_waiting(db: Engine,
                                                                 clock: FrozenClock) -> None:
    """list_cases orders by priority (P0 first), then by who has waited longest."""
    plan = [("P2", 0), ("P0", 10), ("P3", 20), ("P0", 30), ("P2", 40), ("P1", 50)]
    with db.begin() as conn:
        contact = _contact(conn, clock)
        numbers = {}
        for priority, minutes in plan:
            _, number = cases.create(conn, contact_id=contact, channel="test",
                                     data=_case_data(priority, "r"),
                                     now=clock() + timedelta(minutes=minutes))
            numbers[(priority, minutes)] = number
    with db.connect() as conn:
        queue = cases.list_cases(conn)
        waiting = cases.list_cases(conn, status="waiting")
    expected = [("P0", 10), ("P0", 30), ("P1", 50), ("P2", 0), ("P2", 40), ("P3", 20)]
    assert [c.number for c in queue] == [numbers[k] for k in expected]
    assert [c.number for c in waiting] == [c.number for c in queue]
    assert queue[0].created_at == clock() + timedelta(minutes=10)


# -- the outbox ---------------------------------------------------------------------------------


def test_a_reply_already_in_the_outbox_is_refused_as_an_integrity_error(
        db: Engine, clock: FrozenClock) -> None:
    """The same dedupe key twice: SQLAlchemy's IntegrityError on both databases (SQLite's
    hot path goes through the driver), which callers take for a lost race, and the
    transaction adds nothing."""
    with db.begin() as conn:
        outbox.enqueue(conn, [{**_reply("a", "a1"), "dedupe_key": "k"}], clock())
    with pytest.raises(IntegrityError), db.begin() as conn:
        outbox.enqueue(conn, [_reply("b", "b1"), {**_reply("a", "again"), "dedupe_key": "k"}],
                       clock())
    with db.connect() as conn:
        texts = [p["text"] for p in conn.execute(select(OutboxMessage.payload)).scalars()]
    assert texts == ["a1"]


def test_outbox_claims_only_the_head_of_each_recipients_line(db: Engine,
                                                             clock: FrozenClock) -> None:
    """One message per recipient is out at a time; other recipients are not held up."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("a", "a1"), _reply("a", "a2"), _reply("b", "b1")], clock())
    (a1,) = _claim(db, clock, recipient="a")
    assert (a1.recipient, a1.payload, a1.attempts) == ("a", {"text": "a1"}, 1)
    # before a1 is sent: nothing more for a, but b's head is handed out
    assert [o.payload["text"] for o in _claim(db, clock)] == ["b1"]
    assert _claim(db, clock) == []
    with db.begin() as conn:
        outbox.mark_sent(conn, a1.id, "prov-1", clock())
    assert [o.payload["text"] for o in _claim(db, clock)] == ["a2"]


def test_outbox_claim_hands_out_several_recipients_in_order(db: Engine,
                                                            clock: FrozenClock) -> None:
    """A claim returns the heads of all due recipients, oldest first, up to the limit."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("c", "c1"), _reply("a", "a1"), _reply("c", "c2"),
                              _reply("b", "b1"), _reply("x", "x1", channel="elsewhere")],
                       clock())
    assert [o.payload["text"] for o in _claim(db, clock, limit=2)] == ["c1", "a1"]
    assert [o.payload["text"] for o in _claim(db, clock)] == ["b1"]


def test_outbox_lease_expires_and_the_row_is_claimed_again(db: Engine,
                                                           clock: FrozenClock) -> None:
    """A row leased by a relay that died is handed out again once its lease has run out."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("a", "a1"), _reply("a", "a2")], clock())
    (first,) = _claim(db, clock)
    clock.advance(seconds=outbox.LEASE.total_seconds() - 1)
    assert _claim(db, clock) == []
    clock.advance(seconds=2)
    (again,) = _claim(db, clock)
    assert (again.id, again.payload["text"], again.attempts) == (first.id, "a1", 2)


def test_outbox_failed_row_no_longer_blocks_the_line(db: Engine, clock: FrozenClock) -> None:
    """A row marked failed steps out of the recipient's line; the next reply goes out."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("a", "a1"), _reply("a", "a2")], clock())
        assert outbox.open_for(conn, "test", "a") == 2
    (first,) = _claim(db, clock)
    with db.begin() as conn:
        outbox.mark_failed(conn, first.id, "blocked by user")
    (second,) = _claim(db, clock)
    assert second.payload["text"] == "a2"
    with db.connect() as conn:
        row = conn.execute(select(OutboxMessage.status, OutboxMessage.last_error)
                           .where(OutboxMessage.id == first.id)).one()
        assert tuple(row) == ("failed", "blocked by user")
        assert outbox.open_for(conn, "test", "a") == 1
        assert outbox.backlog(conn) == 1


def test_outbox_retry_later_waits_until_its_time(db: Engine, clock: FrozenClock) -> None:
    """A row put back for later is not handed out before its time, and blocks the line."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("a", "a1"), _reply("a", "a2")], clock())
    (first,) = _claim(db, clock)
    with db.begin() as conn:
        outbox.retry_later(conn, first.id, clock() + timedelta(seconds=30), "busy")
    clock.advance(seconds=29)
    assert _claim(db, clock) == []
    clock.advance(seconds=1)
    assert [(o.id, o.attempts) for o in _claim(db, clock)] == [(first.id, 2)]


def test_a_delivery_report_finds_its_message_by_index_and_moves_it_forward(
        db: Engine, clock: FrozenClock) -> None:
    """A status callback names the provider's message id: the sent row is found through
    the index on that id (which holds only sent rows), and its status moves forward."""
    with db.begin() as conn:
        outbox.enqueue(conn, [_reply("a", "a1"), _reply("b", "b1")], clock())
    first, _ = _claim(db, clock)
    with db.begin() as conn:
        outbox.mark_sent(conn, first.id, "SM1", clock())
    with db.begin() as conn:
        assert outbox.record_delivery(conn, "SM1", "delivered", None, clock())
        assert not outbox.record_delivery(conn, "SM-unknown", "delivered", None, clock())
    with db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.dedupe_key, OutboxMessage.delivery_status)
                            .order_by(OutboxMessage.id)).all()
        lookup = "SELECT id FROM outbox WHERE provider_message_id = 'SM1'"
        if db.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {lookup}"))
        else:  # a table this small is read whole unless told otherwise
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {lookup}"))
        conn.rollback()
    assert [tuple(r) for r in rows] == [("a1", "delivered"), ("b1", None)]
    assert "ix_outbox_provider_message_id" in plan


# -- contacts -----------------------------------------------------------------------------------


def test_touch_contact_creates_once_and_marks_the_inbound_time(db: Engine,
                                                               clock: FrozenClock) -> None:
    """The same channel user is one contact; each touch moves last_inbound_at forward."""
    with db.begin() as conn:
        first = conversations.touch_contact(conn, "test", "u1", clock())
    clock.advance(minutes=5)
    with db.begin() as conn:
        again = conversations.touch_contact(conn, "test", "u1", clock())
        other = conversations.touch_contact(conn, "other", "u1", clock())
    assert again == first
    assert (first.language, first.status) == ("id", "active")
    assert other.id != first.id
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Contact)).scalar_one() == 2
        row = conn.execute(select(Contact.created_at, Contact.last_inbound_at)
                           .where(Contact.id == first.id)).one()
    assert utc(row.created_at) == clock() - timedelta(minutes=5)
    assert utc(row.last_inbound_at) == clock()


def test_sqlite_connections_keep_the_durability_and_integrity_settings(sqlite_db: Engine) -> None:
    """Every SQLite connection: write-ahead log, synchronous NORMAL (a commit survives the
    process), foreign keys enforced, a busy timeout, and the larger checkpoint interval."""
    with sqlite_db.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in (
            "journal_mode", "synchronous", "foreign_keys", "busy_timeout", "wal_autocheckpoint")}
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1,
                       "busy_timeout": BUSY_TIMEOUT_MS, "wal_autocheckpoint": CHECKPOINT_PAGES}
