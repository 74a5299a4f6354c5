"""The outbox relay: retries with backoff, the provider's wait, failures, order per recipient."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from bot.channels.base import SendError
from bot.pipeline.failures import RelayPolicy
from bot.pipeline.processor import process_all
from bot.pipeline.relay import Relay
from bot.service import Service
from storage import outbox
from storage.clock import utc
from storage.models import CaseEvent, OutboxMessage
from tests.support import CHANNEL, FrozenClock, send


class ScriptedSender:
    """A provider whose next outcomes per recipient are scripted: an exception, or success."""

    channel = "test"
    limit = None  # no rate limit of its own

    def __init__(self, **script: list[Exception]) -> None:
        self.script: dict[str, list[Exception]] = defaultdict(list, script)
        self.attempts: list[tuple[str, str]] = []
        self.delivered: list[tuple[str, str]] = []

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        self.attempts.append((recipient, payload["text"]))
        if self.script[recipient]:
            raise self.script[recipient].pop(0)
        self.delivered.append((recipient, payload["text"]))
        return f"prov-{len(self.delivered)}"

    def to(self, recipient: str) -> list[str]:
        return [text for r, text in self.delivered if r == recipient]


def _enqueue(db: Engine, clock: FrozenClock, *messages: tuple[str, str]) -> None:
    with db.begin() as conn:
        outbox.enqueue(conn, [{"channel": "test", "recipient": r, "contact_id": None,
                               "case_id": None, "payload": {"text": t}, "dedupe_key": t}
                              for r, t in messages], clock())


def _row(db: Engine, text: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key == text)).one()


def _available_at(db: Engine, text: str) -> datetime:
    return utc(_row(db, text).available_at)


def _transient(reason: str = "timeout", retry_after: float | None = None) -> SendError:
    return SendError(reason, transient=True, retry_after=retry_after)


async def test_transient_failure_is_retried_after_backoff(db: Engine, clock: FrozenClock) -> None:
    """A transient failure puts the row back with a wait; it is not sent again before then."""
    sender = ScriptedSender(a=[_transient()])
    relay = Relay(db, {"test": sender}, clock)
    _enqueue(db, clock, ("a", "a1"))
    assert await relay.run_once() == 1
    row = _row(db, "a1")
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("pending", 1, "timeout",
                                                                       None)
    wait = _available_at(db, "a1") - clock()
    assert timedelta(seconds=0.5) <= wait <= timedelta(seconds=relay.failures.base_delay)
    assert await relay.run_once() == 0
    clock.advance(seconds=wait.total_seconds() - 0.001)
    assert await relay.run_once() == 0
    assert len(sender.attempts) == 1  # nothing sent again before its time
    clock.advance(seconds=0.001)
    assert await relay.run_once() == 1
    assert sender.to("a") == ["a1"]
    row = _row(db, "a1")
    assert (row.status, row.attempts, row.provider_message_id, row.last_error) == (
        "sent", 2, "prov-1", None)
    assert utc(row.sent_at) == clock()


async def test_retry_after_from_the_provider_is_honoured_exactly(db: Engine,
                                                                 clock: FrozenClock) -> None:
    """A rate limit with retry_after waits exactly that long, not the usual backoff."""
    sender = ScriptedSender(a=[_transient("429 too many requests", retry_after=42)])
    relay = Relay(db, {"test": sender}, clock)
    _enqueue(db, clock, ("a", "a1"))
    await relay.run_once()
    assert _available_at(db, "a1") == clock() + timedelta(seconds=42)
    clock.advance(seconds=41.999)
    assert await relay.run_once() == 0
    clock.advance(seconds=0.001)
    assert await relay.run_once() == 1
    assert sender.to("a") == ["a1"]


async def test_retries_go_on_until_the_deadline_then_the_row_fails_with_the_reason(
        db: Engine, clock: FrozenClock) -> None:
    """Transient failures are retried with growing waits until the reply's deadline (time,
    not a count of tries); then the row fails with the last reason, seen on the case."""
    sender = ScriptedSender(a=[_transient(f"timeout {n}") for n in range(100)])
    policy = RelayPolicy(reply_deadline=timedelta(seconds=30))
    relay = Relay(db, {"test": sender}, clock, base_delay=2.0, max_delay=5.0, policy=policy)
    _enqueue(db, clock, ("a", "a1"))
    start, waits = clock(), []
    while _row(db, "a1").status == "pending":
        assert await relay.run_once() == 1
        if _row(db, "a1").status == "pending":
            waits.append((_available_at(db, "a1") - clock()).total_seconds())
            clock.advance(seconds=waits[-1])
    assert 1.0 <= waits[0] <= 2.0 and 2.0 <= waits[1] <= 4.0 and 2.5 <= waits[2] <= 5.0
    row = _row(db, "a1")
    assert (row.status, row.error_code) == ("failed", "expired")
    assert len(sender.attempts) == row.attempts > 6  # more tries than the old count allowed
    assert f"timeout {row.attempts - 1}" in row.last_error
    assert clock() - start <= timedelta(seconds=30)
    clock.advance(hours=1)
    assert await relay.run_once() == 0
    assert len(sender.attempts) == row.attempts and sender.delivered == []
    with db.connect() as conn:
        (event,) = conn.execute(select(CaseEvent.kind, CaseEvent.data)).all()
    assert event.kind == "delivery_failed" and event.data["code"] == "expired"


async def test_permanent_failure_fails_at_once(db: Engine, clock: FrozenClock) -> None:
    """A permanent error (e.g. the user blocked the bot) is not retried, and frees the line."""
    blocked = SendError("bot was blocked by the user", transient=False, code="403")
    sender = ScriptedSender(a=[blocked])
    relay = Relay(db, {"test": sender}, clock)
    _enqueue(db, clock, ("a", "a1"), ("a", "a2"))
    assert await relay.run_once() == 1
    row = _row(db, "a1")
    assert (row.status, row.attempts, row.last_error) == ("failed", 1,
                                                          "bot was blocked by the user")
    assert await relay.run_once() == 1
    clock.advance(hours=1)
    assert await relay.run_once() == 0
    assert sender.attempts == [("a", "a1"), ("a", "a2")]
    assert sender.to("a") == ["a2"]


async def test_replies_to_one_recipient_keep_their_order_across_a_retry(
        db: Engine, clock: FrozenClock) -> None:
    """The second reply waits while the first is retried; other recipients are not held up."""
    sender = ScriptedSender(a=[_transient()])
    relay = Relay(db, {"test": sender}, clock)
    _enqueue(db, clock, ("a", "a1"), ("a", "a2"), ("b", "b1"), ("a", "a3"), ("b", "b2"))
    assert await relay.run_once() == 2  # a1 (fails) and b1
    assert await relay.run_once() == 1  # b2; a2 waits behind a1
    assert await relay.run_once() == 0
    assert sender.to("b") == ["b1", "b2"]
    assert ("a", "a2") not in sender.attempts
    clock.advance(seconds=relay.failures.base_delay)
    while await relay.run_once():
        pass
    assert sender.to("a") == ["a1", "a2", "a3"]
    assert [t for r, t in sender.attempts if r == "a"] == ["a1", "a1", "a2", "a3"]


async def test_a_crashing_sender_does_not_stop_the_relay(db: Engine, clock: FrozenClock) -> None:
    """A sender bug (a plain exception) is retried like a transient error; others still go."""
    sender = ScriptedSender(a=[RuntimeError("sender bug")])
    relay = Relay(db, {"test": sender}, clock)
    _enqueue(db, clock, ("a", "a1"), ("b", "b1"))
    assert await relay.run_once() == 2
    assert sender.to("b") == ["b1"]
    row = _row(db, "a1")
    assert row.status == "pending" and "RuntimeError('sender bug')" in row.last_error
    assert _available_at(db, "a1") > clock()
    clock.advance(seconds=relay.failures.base_delay)
    assert await relay.run_once() == 1
    assert sender.to("a") == ["a1"]
    assert _row(db, "a1").status == "sent"


class _Held:
    """A provider that holds every request until released: shows how many are in flight."""

    channel = CHANNEL
    limit = None

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.open: list[tuple[str, str]] = []
        self.all_open = asyncio.Event()
        self.gate = asyncio.Event()
        self.done: list[tuple[str, str]] = []

    async def send(self, recipient: str, payload: dict[str, Any]) -> str:
        self.open.append((recipient, payload["text"]))
        if len(self.open) == self.expected:
            self.all_open.set()
        await self.gate.wait()
        self.done.append((recipient, payload["text"]))
        return f"p{len(self.done)}"


async def test_the_relay_keeps_many_requests_in_flight_one_per_chat(
        service: Service) -> None:
    """Twenty families' replies go to the provider at once (not one round trip after
    another), never two of one chat at once, and each chat's in its order."""
    users = [f"62819{n:04d}" for n in range(20)]
    for user in users:
        send(service, user, "halo")
        send(service, user, "1")
    process_all(service.processor)
    held = _Held(len(users))
    service.senders[CHANNEL] = held  # type: ignore[assignment]
    relay = service.relay()
    first = asyncio.create_task(relay.run_once())
    await asyncio.wait_for(held.all_open.wait(), 10)  # all in flight together
    assert len(held.open) == len(users)  # one per family
    assert sorted(r for r, _ in held.open) == users
    held.gate.set()
    assert await first == len(users)
    while await relay.run_once():
        pass
    with service.db.connect() as conn:
        expected = {u: [p["text"] for p in conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.recipient == u)
            .order_by(OutboxMessage.id)).scalars()] for u in users}
    for user in users:
        assert [t for r, t in held.done if r == user] == expected[user]
