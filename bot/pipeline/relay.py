"""The outbox relay: hands committed replies to channel senders, in order, and records outcomes.

What a failed send leads to (a retry, a paused channel, giving up at the row's deadline) is
in bot.pipeline.failures.

Delivery is at least once. Leases belong to a live relay process (bot.pipeline.lease): a restarted
service takes over its dead predecessor's rows at once (on the same machine; after
OUTBOX_OWNER_TIMEOUT from another), and never a live relay's. A row the provider accepted
just before the process died is sent again: neither the Telegram Bot API nor Twilio's
Messages API takes an idempotency key, so this in-flight duplicate stays possible. Its
window is one provider round trip plus one small commit: each row is marked sent on its
own, right after the provider's answer (a row of several parts, text and media, widens it
to all its parts). Measured in tests/test_faults_restart.py.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, Engine

from bot.channels.base import Sender, SendError
from bot.pipeline import quickexit
from bot.pipeline.failures import Failures, RelayPolicy
from bot.pipeline.gate import Gate
from bot.pipeline.lease import Lease, Process
from storage import outbox
from storage.clock import utc

log = logging.getLogger(__name__)
# Channels whose provider has delivered a message once its API accepted it.
DELIVERED_ON_ACCEPT = {"telegram": "delivered"}
EXPIRY_EVERY = timedelta(seconds=30)
SHARES_EVERY = timedelta(seconds=1)  # how often a replies relay looks for a broadcast sending
SOON = timedelta(seconds=5)  # a broadcast row due within this is a broadcast sending now
CLAIM = 50  # rows taken at most per batch
SOONEST = 0.01  # seconds at least between runs while only broadcast messages are due
IN_FLIGHT = 32  # requests to providers at once (one per recipient: the claim sees to it)
NOT_SENT = object()
R = TypeVar("R")


class Relay:
    """Leases due outbox rows (the head of each recipient's line) and sends them."""

    def __init__(self, db: Engine, senders: dict[str, Sender], clock: Callable[[], datetime],
                 base_delay: float = 1.0, max_delay: float = 300.0,
                 rng: random.Random | None = None, recipient: str | None = None, *,
                 policy: RelayPolicy | None = None, process: Process | None = None,
                 only: str | None = None, shares: dict[str, float] | None = None) -> None:
        self.db, self.senders, self.clock = db, senders, clock
        self.recipient = recipient  # the terminal chat relays only its own user's replies
        self.policy = policy or RelayPolicy()
        self.failures = Failures(db, clock, self.policy, base_delay, max_delay, rng)
        self.lease = Lease(self.policy.owner_timeout, process)
        self.gates: dict[str, Gate] = {}
        self.expired_at: datetime | None = None
        self.due_at: datetime | None = None  # the next row's time, when the last claim found none
        self.found = False  # the last claim took rows
        self.paced = False  # ...and only broadcast messages (lane 2)
        # "replies" or "broadcasts": the rows of one kind (storage.outbox.ONLY), the other
        # kind sent by another process (`lk3 serve` and its `lk3 broadcast run`)
        self.only = only
        self.shares = shares or {}  # per channel, the rate that process's broadcasts take
        self.shared_at: datetime | None = None

    def gate(self, channel: str) -> Gate:
        if channel not in self.gates:
            self.gates[channel] = Gate(pause_max=self.policy.outage_pause_max)
        return self.gates[channel]

    # -- taking rows

    def _claim(self) -> list[outbox.Outgoing]:
        now = self.clock()
        for gate in self.gates.values():  # a probe of a batch cut short decided nothing
            gate.undecided(now)
        probes: dict[str, int] = {}
        with self.db.begin() as conn:
            self.lease.keep(conn, now)
            self.lease.take_over(conn, now)
            if self.only != "broadcasts" and (
                    self.expired_at is None or now - self.expired_at >= EXPIRY_EVERY):
                self.failures.expire(conn, now, self.senders, self.recipient)
                self.expired_at = now
            if self.shares and (self.shared_at is None or now - self.shared_at >= SHARES_EVERY):
                self._share(conn, now)
            owner = self.lease.id
            free = self._open(now)
            rows = outbox.claim_due(conn, now, free, limit=self._room(free, now),
                                    recipient=self.recipient, owner=owner,
                                    only=self.only) if free else []
            for channel in self.senders:
                if self.gate(channel).admits(now) == 1:
                    probe = outbox.claim_due(conn, now, [channel], limit=1,
                                             recipient=self.recipient, owner=owner,
                                             only=self.only)
                    if probe:
                        probes[channel] = probe[0].id
                        rows += probe
            self.due_at = None if rows else outbox.next_due(conn, now, free, self.only)
            self.found, self.paced = bool(rows), bool(rows) and all(r.lane == 2 for r in rows)
        for channel, row_id in probes.items():  # once the lease is committed
            self.gate(channel).probing(row_id)
        return by_lane(rows)

    def _claim_replies(self) -> list[outbox.Outgoing]:
        """The heads that are not broadcast messages, on channels open now: the claim of
        `run_once(replies_only=True)`, which runs beside the relay's own loop. It leaves
        the lease, take-overs, expiry and probes to that loop (it waits until that loop has
        registered the lease)."""
        now = self.clock()
        if self.lease.last_beat is None:
            return []
        free = self._open(now)
        if not free:
            return []
        with self.db.begin() as conn:
            return by_lane(outbox.claim_due(conn, now, free, limit=self._room(free, now),
                                            recipient=self.recipient, owner=self.lease.id,
                                            only="replies"))

    def _share(self, conn: Connection, now: datetime) -> None:
        """While another process sends a broadcast on a channel, this relay's rate there is
        what the broadcast leaves (the provider's limit is the bot's, not a process's)."""
        self.shared_at = now
        sending = outbox.broadcasting(conn, now + SOON, self.shares)
        for channel, share in self.shares.items():
            limit = getattr(self.senders.get(channel), "limit", None)
            if limit is not None:
                limit.leave(share if channel in sending else 0.0)

    def _open(self, now: datetime) -> list[str]:
        """The channels not paused by an outage now."""
        return [c for c in self.senders if self.gate(c).admits(now) is None]

    def rest(self, longest: float) -> float:
        """Seconds to wait before the next run (a ring of the bell ends it sooner): none
        after a batch with replies in it (more may be waiting); SOONEST after one of
        broadcast messages only; after finding nothing, until the next row falls due, at
        least SOONEST and at most `longest` (the poll interval). A broadcast's messages fall
        due one by one (200 a second at TELEGRAM_BROADCAST_MPS=250): claimed as they fell
        due, one look each cost more processor time than the send; left for the whole
        interval, they piled up into a batch a family's reply then waited behind (both
        measured with lk3 bench --broadcast)."""
        if self.paced:
            return SOONEST
        if self.found:
            return 0.0
        if self.due_at is None:
            return longest
        return max(SOONEST, min(longest, (utc(self.due_at) - self.clock()).total_seconds()))

    def _room(self, channels: list[str], now: datetime) -> int:
        """Rows to take now: what the channels' rates let go (at least one, at most
        CLAIM), so rows over the rate stay in line unclaimed rather than being taken and
        put back."""
        room = 0
        for channel in channels:
            limit = getattr(self.senders[channel], "limit", None)
            room += CLAIM if limit is None else limit.room(now.timestamp())
        return max(1, min(CLAIM, room))

    async def run_once(self, replies_only: bool = False) -> int:
        """Send what is due now; returns how many rows were taken.

        A batch holds at most one row per recipient (the head of its line), so its rows go
        out together, up to IN_FLIGHT requests at once: per-chat order is kept by the claim,
        the provider's rates by each sender's limit, asked in turn before any request. The
        rows the provider took are recorded together in one transaction.

        `replies_only`: only what is not an information broadcast, in a second loop rung by
        every reply committed, so a family's reply never waits for a batch of broadcast
        messages to finish (where one process relays both: tests, `lk3 chat`); a row stays
        in one batch since the claim leases it, and per-recipient order holds since a head
        is the recipient's oldest open row, leased or not. `lk3 serve` relays only replies
        (`only`) and its `lk3 broadcast run` child only broadcast messages (lk3 bench
        --broadcast: 200 sends a second held the serving process's interpreter)."""
        if not self.senders:
            return 0
        batch = await asyncio.to_thread(self._claim_replies if replies_only else self._claim)
        owner = self.lease.id
        held: dict[datetime, list[int]] = defaultdict(list)
        going: list[outbox.Outgoing] = []
        later: list[tuple[outbox.Outgoing, float]] = []
        for row in batch:
            gate, now = self.gate(row.channel), self.clock()
            if not gate.may_send(now, row.id):  # the channel paused during this batch
                held[gate.reopens(now)].append(row.id)
            elif (wait := self._wait(row)) > 0:  # over the rate: no attempt counted
                gate.undecided(now)
                later.append((row, wait))
            else:
                going.append(row)
        if later:
            await asyncio.to_thread(self._defer, later)
        sent: list[tuple[outbox.Outgoing, str | None]] = []
        room = asyncio.Semaphore(IN_FLIGHT)

        async def one(row: outbox.Outgoing) -> None:
            async with room:
                if self.lease.id != owner:  # taken for dead meanwhile: the rest went to others
                    return
                provider_id = await self._deliver(row)
                if provider_id is not NOT_SENT:
                    sent.append((row, provider_id))  # type: ignore[arg-type]

        try:
            await asyncio.gather(*(one(row) for row in going))
        except asyncio.CancelledError:  # stopped mid-batch: what the provider took is kept
            if sent:
                self._sent(sent)
            raise
        now = self.clock()
        if now - (self.lease.last_beat or now) >= self.lease.beat_every:
            await asyncio.to_thread(self.beat)
        if sent:
            await asyncio.to_thread(self._sent, sent)
        if held:
            await asyncio.to_thread(self._release, held, owner)
        return len(batch)

    def _wait(self, row: outbox.Outgoing) -> float:
        """Seconds until the sender's rate lets this row go (0: now, and it is counted)."""
        limit = getattr(self.senders[row.channel], "limit", None)  # may be omitted
        return 0.0 if limit is None else limit.delay(row.recipient, self.clock().timestamp())

    def beat(self) -> None:
        """Say this relay is alive (when a beat is due); done by itself between and during
        sends."""
        with self.db.begin() as conn:
            self.lease.keep(conn, self.clock())

    def _release(self, held: dict[datetime, list[int]], owner: str) -> None:
        with self.db.begin() as conn:
            for when, ids in held.items():
                outbox.release(conn, ids, when, owner)

    # -- sending one row

    async def _deliver(self, row: outbox.Outgoing) -> str | object | None:
        """Send one row: the provider's message id (or None) when it was taken, NOT_SENT
        when it was not (the failure already recorded)."""
        sender, gate = self.senders[row.channel], self.gate(row.channel)
        payload = row.payload
        if quickexit.CLEAR in payload:  # KELUAR: the chat's ids, now that all before are out
            payload = {"delete": await asyncio.to_thread(self._to_delete, row)}
        try:
            provider_id = await self._beating(sender.send(row.recipient, payload))
        except SendError as exc:
            await asyncio.to_thread(self.failures.failed, row, exc, gate, self.lease.id)
            return NOT_SENT
        except Exception as exc:  # a bug in a sender must not stop the relay
            log.exception("sender %s crashed on outbox row %s", row.channel, row.id)
            await asyncio.to_thread(self.failures.failed, row,
                                    SendError(repr(exc), transient=True), gate, self.lease.id)
            return NOT_SENT
        gate.delivered()
        return provider_id

    async def _beating(self, send: Awaitable[R]) -> R:
        """Await a send, beating meanwhile (a slow provider must not look like a dead relay)."""
        task = asyncio.ensure_future(send)
        every = self.lease.beat_every.total_seconds()
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=every)
                if done:
                    return task.result()
                await asyncio.to_thread(self.beat)
        finally:
            task.cancel()  # the relay stopped (or crashed) mid-send: so does the send

    def _to_delete(self, row: outbox.Outgoing) -> list[int]:
        with self.db.connect() as conn:
            return quickexit.to_delete(conn, row, self.clock())

    def _defer(self, rows: list[tuple[outbox.Outgoing, float]]) -> None:
        """Rows over the rate back in line, due when the rate lets them go."""
        with self.db.begin() as conn:
            for row, wait in rows:
                outbox.defer(conn, row.id, self.clock() + timedelta(seconds=wait),
                             self.lease.id)

    def _sent(self, sent: list[tuple[outbox.Outgoing, str | None]]) -> None:
        """Rows the provider took, recorded in one transaction."""
        with self.db.begin() as conn:
            for row, provider_id in sent:
                status = DELIVERED_ON_ACCEPT.get(row.channel)
                if not outbox.mark_sent(conn, row.id, provider_id, self.clock(), status,
                                        self.lease.id):
                    log.warning("outbox row %s was handed to another relay while this one "
                                "sent it; it may arrive twice", row.id)


def by_lane(rows: list[outbox.Outgoing]) -> list[outbox.Outgoing]:
    """Lane by lane, oldest first: a reply claimed with a broadcast's messages (made due
    ahead, so older) goes out first rather than after them (lk3 bench --broadcast)."""
    return sorted(rows, key=lambda r: (r.lane, r.id))
