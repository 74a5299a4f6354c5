"""What the outbox relay does when a send fails, and with rows no longer worth sending.

A reply is tried until it is delivered or no longer worth sending: its deadline is its age
by kind (`RelayPolicy`: replies to families, messages to staff), and a WhatsApp reply also
ends with the family's 24-hour window (the sender refuses it then: needs_template). Rate
limits are no failure and wait exactly as told; an outage pauses the channel and probes it
with one row (bot.pipeline.gate), so a long outage costs a few probes, not every reply's
chance. Other transient errors wait exponentially longer, jittered. Giving up is recorded
on the case (a `delivery_failed` audit event; the counselor is told when it was their
message).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from bot.casework import staff
from bot.channels.base import SendError
from bot.pipeline.gate import Gate
from storage import cases, conversations, outbox
from storage.clock import utc
from storage.rows import EventRow, write_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayPolicy:
    """How long replies are worth trying, and how the relay waits (bot.config settings)."""

    reply_deadline: timedelta = timedelta(hours=24)  # to families (OUTBOX_REPLY_DEADLINE_HOURS)
    staff_deadline: timedelta = timedelta(hours=24)  # to counselors (OUTBOX_STAFF_DEADLINE_HOURS)
    outage_pause_max: float = 15.0  # OUTBOX_OUTAGE_PAUSE_MAX
    owner_timeout: float = 15.0  # OUTBOX_OWNER_TIMEOUT

    @classmethod
    def of(cls, settings: Any) -> RelayPolicy:
        return cls(timedelta(hours=settings.outbox_reply_deadline_hours),
                   timedelta(hours=settings.outbox_staff_deadline_hours),
                   settings.outbox_outage_pause_max, settings.outbox_owner_timeout)

    def deadline(self, row: outbox.Outgoing) -> datetime | None:
        if row.created_at is None:
            return None
        age = self.staff_deadline if "to_staff" in row.payload else self.reply_deadline
        return utc(row.created_at) + age


class Failures:
    """A relay's failed sends: retried later, or given up on where the case shows it."""

    def __init__(self, db: Engine, clock: Callable[[], datetime], policy: RelayPolicy,
                 base_delay: float = 1.0, max_delay: float = 300.0,
                 rng: random.Random | None = None) -> None:
        self.db, self.clock, self.policy = db, clock, policy
        self.base_delay, self.max_delay = base_delay, max_delay
        self.rng = rng or random.Random()

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait: the provider's wait if given, else half the exponential ceiling
        plus a random part of the other half ("equal jitter": never all at once, never 0)."""
        if retry_after is not None:
            return float(retry_after)
        ceiling = min(self.max_delay, self.base_delay * float(2 ** max(0, attempts - 1)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def failed(self, row: outbox.Outgoing, exc: SendError, gate: Gate, owner: str) -> None:
        """A send of `row` (leased by `owner`) failed: try again when the error says, or
        give up (for good, or past the row's deadline)."""
        now = self.clock()
        if not exc.transient:
            gate.answered()
            with self.db.begin() as conn:
                log.warning("outbox row %s failed for good: %s", row.id, exc)
                self.give_up(conn, row, exc)
            return
        if exc.rate_limited:
            when = gate.rate_limited(now, exc.retry_after)
        elif exc.outage:
            when = gate.outage(now)
        else:
            gate.undecided(now)
            when = now + timedelta(seconds=self.backoff(row.attempts, None))
        deadline = self.policy.deadline(row)
        with self.db.begin() as conn:
            if deadline is not None and when > deadline:
                log.warning("outbox row %s given up: not delivered by %s (%s)", row.id,
                            deadline.isoformat(timespec="seconds"), exc)
                self.give_up(conn, row, expired(exc, deadline))
            else:
                outbox.retry_later(conn, row.id, when, str(exc), owner)

    def expire(self, conn: Connection, now: datetime, channels: Iterable[str],
               recipient: str | None) -> None:
        """Rows waiting past their deadline (never tried, or waiting for their turn) end."""
        shortest = min(self.policy.reply_deadline, self.policy.staff_deadline)
        for row in outbox.waiting_since(conn, now - shortest, channels, recipient):
            deadline = self.policy.deadline(row)
            if deadline is not None and deadline <= now:
                log.warning("outbox row %s given up: not delivered by %s", row.id,
                            deadline.isoformat(timespec="seconds"))
                self.give_up(conn, row, expired(None, deadline))

    def give_up(self, conn: Connection, row: outbox.Outgoing, exc: SendError) -> None:
        """Record a permanent failure where the counselor and the case will see it."""
        outbox.mark_failed(conn, row.id, str(exc), exc.final_status, exc.code)
        if exc.contact_status and row.contact_id is not None:
            conversations.set_status(conn, row.contact_id, exc.contact_status)
        counselor = row.payload.get("from_staff")
        if counselor is not None and row.case_id is not None:  # the counselor hears at once
            staff.say(conn, int(counselor), "undeliverable", self.clock(), case_id=row.case_id,
                      number=cases.number_of(conn, row.case_id), reason=str(exc)[:200])
        write_rows(conn, [EventRow(
            row.case_id, row.contact_id, "relay", "delivery_failed",
            {"outbox_id": row.id, "channel": row.channel, "code": exc.code,
             "reason": str(exc)[:500], "status": exc.final_status,
             "contact_status": exc.contact_status}, self.clock())])


def expired(last: SendError | None, deadline: datetime) -> SendError:
    """The give-up of a reply past its deadline, with the last error it met."""
    why = f"; last error: {last}" if last is not None else ""
    return SendError(f"not delivered by its deadline {deadline.isoformat(timespec='seconds')}"
                     f"{why}", transient=False, code="expired")
