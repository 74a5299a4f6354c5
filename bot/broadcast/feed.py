"""The broadcast job: starts due schedules (once, whatever the number of processes) and hands
each running broadcast's recipients to the outbox at its pace, each checked again just before.

Everything it knows is in the database: the start is a conditional UPDATE, a recipient is
queued with its outbox row in one transaction (the row's dedupe key is its (broadcast,
contact)), and the pace is the instant the next message may go, stored on the broadcast.
Outbox rows are made at most AHEAD seconds before they are due, so a family that stops, or
whose safety changes, is seen before their turn; BERHENTI also cancels what is queued.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import sleep

from sqlalchemy import Connection, Engine

from bot.broadcast import audience, message, plan
from bot.broadcast.rates import Rates
from bot.broadcast.wit import quiet_until
from flows.catalog import Catalog
from storage import broadcasts, jsontext
from storage.bulk import Encoded
from storage.clock import utc
from storage.subscriptions import PREFIX

AHEAD = timedelta(seconds=2)  # outbox rows made at most this long before they are due
# Recipients handled in one write transaction, and the pause before the next one of the same
# run: the writers' turn (storage/turns.py) is not a queue, and without the pause the job
# took it straight back from the webhooks and processors waiting for it. Its transactions
# were what families' messages waited behind longest while a broadcast sent (holds logged per
# transaction under `lk3 bench --broadcast`): a second's 200 recipients in one held the turn
# 12 ms; 50, 9-13 ms; 20, a median of 4.4 ms and 9.9 at the 99th percentile; 10, 2.5 and 6.2.
CHUNK = 10
BETWEEN = 0.002  # seconds
RECHECK = timedelta(minutes=5)  # people in a conversation are looked at again after this
DEFER_MAX = timedelta(hours=24)  # ...and skipped when still in one this long after the start


@dataclass
class Feeder:
    db: Engine
    catalog: Catalog
    resting: frozenset[str]
    rates: Rates
    clock: Callable[[], datetime]
    quiet: tuple[time, time] | None = None
    present: dict[int, list[str]] = field(default_factory=dict)  # broadcast -> its channels

    def run_once(self) -> int:
        """Start what is due, feed what runs; outbox rows made."""
        now = self.clock()
        with self.db.begin() as conn:
            for bid in broadcasts.due(conn, now):
                if broadcasts.start(conn, bid, now, due_only=True):
                    plan.audit(conn, bid, "scheduler", "broadcast_started", now)
        if quiet_until(now, self.quiet) is not None:
            return 0
        made = 0
        with self.db.connect() as conn:
            running = broadcasts.running(conn)
        for bid in running:
            while True:
                queued, more = self.feed(bid, now)
                made += queued
                if not more:
                    break
                sleep(BETWEEN)
        return made

    def feed(self, bid: int, now: datetime) -> tuple[int, bool]:
        """One transaction: up to CHUNK recipients of each channel; (outbox rows made,
        whether a channel has more that are due)."""
        with self.db.begin() as conn:
            row = broadcasts.get(conn, bid, lock=True)
            if row is None or row.status != "sending":
                return 0, False
            pace = dict(row.paced_until)
            made, more = 0, False
            if bid not in self.present:  # a channel nobody is on would be searched in vain
                self.present[bid] = broadcasts.channels(conn, bid)
            for channel in self.present[bid]:
                queued, unfinished = self._channel(conn, row, channel, pace, now)
                made, more = made + queued, more or unfinished
            broadcasts.set_pace(conn, bid, pace)
            if not more and broadcasts.finish(conn, bid, now):
                plan.audit(conn, bid, "scheduler", "broadcast_finished", now)
            return made, more

    def _channel(self, conn: Connection, row: broadcasts.Row, channel: str,
                 pace: dict[str, str], now: datetime) -> tuple[int, bool]:
        """(outbox rows made, whether a full CHUNK of waiting recipients was taken) for one
        channel. People deferred are looked at again all at once (every RECHECK)."""
        rate = self.rates.broadcast_mps(channel)
        cursor = max(now, datetime.fromisoformat(pace[channel])) if channel in pace else now
        slots = math.floor(((now + AHEAD) - cursor).total_seconds() * rate)
        if channel == "whatsapp":
            slots = min(slots, self.whatsapp_room(conn, now))
        taken = broadcasts.take(conn, row.id, channel, min(CHUNK, slots))
        full = len(taken) == CHUNK
        if not taken and self._recheck_due(pace, channel, now):
            taken = broadcasts.take(conn, row.id, channel, slots, ("deferred",))
            pace[f"recheck:{channel}"] = (now + RECHECK).isoformat()
        if not taken:
            return 0, False
        verdict = audience.check(conn, [t[1] for t in taken], row.topic, now, self.resting)
        queued: list[tuple[int, dict[str, object]]] = []
        marks: dict[tuple[str, str], list[int]] = defaultdict(list)  # (status, why) -> ids
        payloads: dict[str, Encoded] = {}  # language -> the message, the same for everyone
        for rid, cid, language, user in taken:
            why = verdict[cid]
            if why in audience.WAIT and now - utc(row.started_at or now) < DEFER_MAX:
                marks[("deferred", why)].append(rid)
            elif why is not None:
                marks[("skipped", why)].append(rid)
            else:
                if language not in payloads:
                    payloads[language] = self._payload(row, channel, language)
                at = cursor + timedelta(seconds=len(queued) / rate)
                queued.append((rid, self._outbox(row, channel, cid, user, payloads[language],
                                                 at, now)))
        for (status, why), ids in marks.items():  # one UPDATE a reason, not one a person
            broadcasts.mark(conn, ids, status, why)
        broadcasts.queue(conn, queued, now)
        pace[channel] = (cursor + timedelta(seconds=len(queued) / rate)).isoformat()
        return len(queued), full

    @staticmethod
    def _recheck_due(pace: dict[str, str], channel: str, now: datetime) -> bool:
        at = pace.get(f"recheck:{channel}")
        return at is None or datetime.fromisoformat(at) <= now

    def whatsapp_room(self, conn: Connection, now: datetime) -> int:
        """Recipients WhatsApp's daily limit still lets broadcasts reach (moving 24 hours)."""
        reached, _ = broadcasts.reached_since(conn, "whatsapp", now - timedelta(hours=24))
        return max(0, self.rates.whatsapp_daily() - reached)

    def _payload(self, row: broadcasts.Row, channel: str, language: str) -> Encoded:
        """The outbox payload of a language, as JSON text: encoded once for all of its
        recipients, rather than once a row while the write lock is held."""
        return Encoded(jsontext.dumps(message.payload(channel, row.id, row.texts, language,
                                                      row.template_sid, self.catalog)))

    @staticmethod
    def _outbox(row: broadcasts.Row, channel: str, contact_id: int, user: str,
                payload: Encoded, at: datetime, now: datetime) -> dict[str, object]:
        return {"channel": channel, "recipient": user, "contact_id": contact_id,
                "case_id": None, "dedupe_key": f"{PREFIX}{row.id}:{contact_id}",
                "payload": payload, "status": "pending", "attempts": 0, "available_at": at,
                "created_at": now}
