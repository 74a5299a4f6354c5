"""The inbox processor: each contact's messages in order, each exactly once, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.apply import apologise, apply_turn
from flows.engine import Engine as FlowEngine
from flows.types import Inbound, Media, Snapshot
from storage import conversations, inbox
from storage.clock import utc

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def inbound_of(msg: inbox.Pending) -> Inbound:
    p = msg.payload
    media = tuple(Media(m["kind"], m["ref"], m.get("mime", "")) for m in p.get("media") or [])
    return Inbound(msg.channel, msg.sender, msg.provider_message_id, str(p.get("text") or ""),
                   str(p.get("payload") or ""), media)


def snapshot_of(conv: conversations.ConversationRow | None) -> Snapshot | None:
    if conv is None:
        return None
    return Snapshot(conv.flow, conv.state, conv.language, dict(conv.answers), tuple(conv.flags),
                    conv.misses, conv.flow_version, conv.case_number, utc(conv.updated_at))


class Processor:
    """Turns stored inbound messages into state changes, cases and outbox rows."""

    def __init__(self, db: Engine, flows: FlowEngine, clock: Callable[[], datetime],
                 batch: int = 200) -> None:
        self.db, self.flows, self.clock, self.batch = db, flows, clock, batch
        self.postgres = db.dialect.name == "postgresql"

    def run_once(self) -> int:
        """Process what is pending, in batches per transaction; returns messages handled."""
        try:
            with self.db.begin() as conn:
                return self._batch(conn)
        except SQLAlchemyError:
            raise  # the database failed: nothing was committed; the worker retries later
        except Exception:
            log.exception("a message in the batch failed; processing one at a time")
            return self._one_at_a_time()

    def _batch(self, conn: Connection) -> int:
        done = 0
        for key in inbox.pending_contacts(conn, self.batch):
            if not self._lock(conn, key):
                continue  # another worker holds this contact; it keeps the order
            for msg in inbox.pending_for(conn, key):
                self._process(conn, msg)
                done += 1
            if done >= self.batch:
                break
        return done

    def _lock(self, conn: Connection, key: str) -> bool:
        """PostgreSQL: one worker per contact. SQLite: BEGIN IMMEDIATE already serialises."""
        if not self.postgres:
            return True
        got = conn.execute(select(func.pg_try_advisory_xact_lock(
            func.hashtextextended(key, 0)))).scalar_one()
        return bool(got)

    def _process(self, conn: Connection, msg: inbox.Pending) -> None:
        now = self.clock()
        contact = conversations.touch_contact(conn, msg.channel, msg.sender, now)
        conv = conversations.load(conn, contact.id)
        turn = self.flows.step(snapshot_of(conv), inbound_of(msg), now, contact.language)
        apply_turn(conn, self.flows, msg, contact, conv, turn, now)
        inbox.mark_processed(conn, [msg.id], now)

    def _one_at_a_time(self) -> int:
        """After a failure: each message alone; a failing one is retried, then set aside."""
        done = 0
        with self.db.connect() as conn:
            keys = inbox.pending_contacts(conn, self.batch)
            conn.rollback()
        for key in keys:
            while self._try_head(key) is True:
                done += 1
        return done

    def _try_head(self, key: str) -> bool | None:
        """Process the oldest pending message of one contact: True, False (failed) or None."""
        head: inbox.Pending | None = None
        try:
            with self.db.begin() as conn:
                if not self._lock(conn, key):
                    return None
                pending = inbox.pending_for(conn, key, limit=1)
                if not pending:
                    return None
                head = pending[0]
                self._process(conn, head)
            return True
        except SQLAlchemyError:
            raise
        except Exception as exc:
            if head is None:
                raise
            log.exception("inbound message %s failed (attempt %d)", head.id, head.attempts + 1)
            self._set_aside(head, exc)
            return False

    def _set_aside(self, msg: inbox.Pending, exc: Exception) -> None:
        give_up = msg.attempts + 1 >= MAX_ATTEMPTS
        with self.db.begin() as conn:
            inbox.record_failure(conn, msg.id, f"{type(exc).__name__}: {exc}", give_up,
                                 self.clock())
            if give_up:
                apologise(conn, self.flows, msg, self.clock())


def process_all(processor: Processor, limit: int = 1_000_000) -> int:
    """Run until the inbox is empty (used by the terminal chat, tests and the benchmark)."""
    total = 0
    while total < limit:
        n = processor.run_once()
        if n == 0:
            return total
        total += n
    return total
