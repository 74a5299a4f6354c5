"""The outbox relay: hands committed replies to channel senders, in order, and records outcomes."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from bot import quickexit, staff
from bot.channels.base import Sender, SendError
from storage import cases, conversations, outbox

log = logging.getLogger(__name__)
# Channels whose provider has delivered a message once its API accepted it.
DELIVERED_ON_ACCEPT = {"telegram": "delivered"}


class Relay:
    """Leases due outbox rows (the head of each recipient's line) and sends them."""

    def __init__(self, db: Engine, senders: dict[str, Sender], clock: Callable[[], datetime],
                 max_attempts: int = 6, base_delay: float = 1.0, max_delay: float = 300.0,
                 rng: random.Random | None = None, recipient: str | None = None) -> None:
        self.db, self.senders, self.clock = db, senders, clock
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.rng = rng or random.Random()
        self.recipient = recipient  # the terminal chat relays only its own user's replies

    def _claim(self) -> list[outbox.Outgoing]:
        with self.db.begin() as conn:
            return outbox.claim_due(conn, self.clock(), self.senders, recipient=self.recipient)

    async def run_once(self) -> int:
        """Send what is due now; returns how many rows were attempted."""
        if not self.senders:
            return 0
        batch = await asyncio.to_thread(self._claim)
        for row in batch:
            await self._deliver(row)
        return len(batch)

    async def _deliver(self, row: outbox.Outgoing) -> None:
        sender = self.senders[row.channel]
        limit = getattr(sender, "limit", None)  # senders without a limit may omit it
        if limit is not None:
            wait = limit.delay(row.recipient, self.clock().timestamp())
            if wait > 0:  # over the rate: back in line, no attempt counted
                await asyncio.to_thread(self._defer, row, wait)
                return
        payload = row.payload
        if quickexit.CLEAR in payload:  # KELUAR: the chat's ids, now that all before are out
            payload = {"delete": await asyncio.to_thread(self._to_delete, row)}
        try:
            provider_id = await sender.send(row.recipient, payload)
        except SendError as exc:
            await asyncio.to_thread(self._failed, row, exc)
            return
        except Exception as exc:  # a bug in a sender must not stop the relay
            log.exception("sender %s crashed on outbox row %s", row.channel, row.id)
            await asyncio.to_thread(self._failed, row, SendError(repr(exc), transient=True))
            return
        await asyncio.to_thread(self._sent, row, provider_id)

    def _to_delete(self, row: outbox.Outgoing) -> list[int]:
        with self.db.connect() as conn:
            return quickexit.to_delete(conn, row, self.clock())

    def _defer(self, row: outbox.Outgoing, wait: float) -> None:
        with self.db.begin() as conn:
            outbox.defer(conn, row.id, self.clock() + timedelta(seconds=wait))

    def _sent(self, row: outbox.Outgoing, provider_id: str | None) -> None:
        status = DELIVERED_ON_ACCEPT.get(row.channel)
        with self.db.begin() as conn:
            outbox.mark_sent(conn, row.id, provider_id, self.clock(), status)

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait: the provider's wait if given, else exponential with full jitter."""
        if retry_after is not None:
            return float(retry_after)
        ceiling = min(self.max_delay, self.base_delay * float(2 ** max(0, attempts - 1)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _failed(self, row: outbox.Outgoing, exc: SendError) -> None:
        with self.db.begin() as conn:
            if exc.transient and row.attempts < self.max_attempts:
                when = self.clock() + timedelta(seconds=self.backoff(row.attempts,
                                                                     exc.retry_after))
                outbox.retry_later(conn, row.id, when, str(exc))
            else:
                log.warning("outbox row %s failed for good: %s", row.id, exc)
                self._give_up(conn, row, exc)

    def _give_up(self, conn: Connection, row: outbox.Outgoing, exc: SendError) -> None:
        """Record a permanent failure where the counselor and the case will see it."""
        outbox.mark_failed(conn, row.id, str(exc), exc.final_status, exc.code)
        if exc.contact_status and row.contact_id is not None:
            conversations.set_status(conn, row.contact_id, exc.contact_status)
        counselor = row.payload.get("from_staff")
        if counselor is not None and row.case_id is not None:  # the counselor hears at once
            staff.say(conn, int(counselor), "undeliverable", self.clock(), case_id=row.case_id,
                      number=cases.number_of(conn, row.case_id), reason=str(exc)[:200])
        cases.add_events(conn, [{
            "case_id": row.case_id, "contact_id": row.contact_id, "actor": "relay",
            "kind": "delivery_failed", "created_at": self.clock(),
            "data": {"outbox_id": row.id, "channel": row.channel, "code": exc.code,
                     "reason": str(exc)[:500], "status": exc.final_status,
                     "contact_status": exc.contact_status}}])
