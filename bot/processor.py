"""The inbox processor: each contact's messages in order, each exactly once; a batch's writes
commit together. Several processors on one SQLite file read and plan a batch before taking
the write lock (bot.plans), and make the rows of what is plain answering there too
(bot.ready)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, column, func, select, values
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.types import String

from bot import counselor, labels, ready, routing, staff
from bot.apply import Conv, Writes, apologise, apply_turn
from bot.plans import Look, Plan, inbound_of, plan_steps
from bot.ready import Ready, Resume
from flows.danger import is_imminent
from flows.engine import Engine as FlowEngine
from flows.text import clean
from flows.types import Snapshot, Turn
from storage import cases, conversations, counselors, inbox
from storage.db import reading, writing

log = logging.getLogger(__name__)
REGISTER = re.compile(r"^/(daftar|register)(?:@\w+)?\s+(\S+)", re.IGNORECASE)


def registration_code(msg: inbox.Pending) -> str | None:
    """The one-time code of a `/daftar CODE` message, if it is one."""
    text = str(msg.payload.get("text") or "")
    if "/" not in text:  # most messages: cleaning adds no slash
        return None
    found = REGISTER.match(clean(text))
    return found.group(2) if found else None

MAX_ATTEMPTS = 3
# Messages per transaction at most. Under load more per commit costs less per message
# (measured with `lk3 bench`: 500 did better than 200, and no worse than 1,000); a batch
# holds SQLite's write lock for tens of milliseconds, which adapters wait out in turn.
BATCH = 500
KNOWN = 10_000  # contacts a read-ahead processor remembers as it last wrote them


# Failures that belong to one message (a bug on its path, or data the database refuses),
# as opposed to the database being unavailable: those are retried alone, then set aside.
def message_error(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError | DataError) or not isinstance(exc, SQLAlchemyError)


class Processor:
    """Turns stored inbound messages into state changes, cases and outbox rows.

    One transaction handles a batch: under load many messages share one commit (group
    commit); a message is never half-done, since all its writes commit or roll back together.
    """

    def __init__(self, db: Engine, flows: FlowEngine, clock: Callable[[], datetime],
                 batch: int = BATCH, shard: tuple[int, int] | None = None) -> None:
        self.db, self.flows, self.clock, self.batch = db, flows, clock, batch
        self.postgres = db.dialect.name == "postgresql"
        self.shard = None if self.postgres else shard  # PostgreSQL: advisory locks share
        self.ahead = self.shard is not None  # SQLite with other processors: read ahead
        self.plans: dict[int, Plan] = {}
        self.handled: list[int] = []  # inbox ids the last run_once committed
        # Contacts whose conversation this processor wrote last, as it then reads (raw) and
        # decodes: the next look starts from there instead of reading it. Never trusted:
        # under the write lock the raw row is compared with what is stored, like anything a
        # look read.
        self.known: dict[tuple[str, str], tuple[tuple[Any, ...], Resume]] = {}

    def run_once(self) -> int:
        """Process what is pending, one batch per transaction; returns messages handled
        (or, when another worker took them first, found).

        SQLite has one writer at a time. A lone processor does a batch in one write
        transaction. Several (each with a shard of the contacts) read the batch and run the
        engine steps before taking the write lock (`look`), so one reads while another
        writes; under the lock (`finish`) what was read is checked against what is stored
        now, and any step whose start changed is run again.
        """
        self.handled = []
        try:
            if self.ahead:
                return self.finish(self.look())
            with writing(self.db) as conn:
                return self._handle(conn, self._claim(conn, self.batch))
        except Exception as exc:
            if not message_error(exc):
                raise
            log.exception("a message in the batch failed; processing one at a time")
            return self._one_at_a_time()
        # Any other database error (connection lost, commit refused) propagates: nothing
        # was committed, and the worker tries the whole batch again later.

    def _claim(self, conn: Connection, limit: int) -> list[inbox.Pending]:
        """Pending messages in arrival order, only of contacts this transaction holds.

        SQLite: BEGIN IMMEDIATE already makes this the only writer. PostgreSQL: a
        transaction-scoped advisory lock per contact; a contact held by another worker is
        left to it, and its messages are read again after the lock, so none is done twice.
        """
        if not self.postgres:
            return inbox.pending_batch(conn, limit)
        keys = inbox.pending_contacts(conn, limit * 4)  # room to pass contacts others hold
        if not keys:
            return []
        k = values(column("k", String), name="keys").data([(key,) for key in keys])
        held = [r[0] for r in conn.execute(select(k.c.k).where(
            func.pg_try_advisory_xact_lock(func.hashtextextended(k.c.k, 0))).limit(limit))]
        return inbox.pending_of(conn, held, limit) if held else []

    def finish(self, look: Look | None) -> int:
        """Under the write lock: the messages of `look` nobody processed meanwhile, each
        from its conversation as stored now (planned steps where it did not change)."""
        if look is None:
            return 0
        for user in {(m.channel, m.sender) for m in look.msgs}:
            self.known.pop(user, None)  # until this batch has committed
        with writing(self.db) as conn:
            live = inbox.still_pending(conn, [m.id for m in look.msgs])
            ok = self._still_ready(conn, look, live)
            ready.write(conn, look.statements, None if len(ok) == len(look.ready) else ok)
            fast = [look.ready[i] for i in sorted(ok)]
            written = {i for r in fast for i in r.msg_ids}
            msgs = [m for m in look.msgs if m.id in live and m.id not in written]
            done = self._handle(conn, msgs, look) + len(written) or len(look.msgs)
            self.handled += written
        self.known.update((r.user, (r.after, r.resume)) for r in fast)
        while len(self.known) > KNOWN:
            del self.known[next(iter(self.known))]  # the longest ago
        return done

    def _still_ready(self, conn: Connection, look: Look, live: set[int]) -> set[int]:
        """Positions in `look.ready` of the contacts whose messages, contact and conversation
        (with its case) are all still as read, and who have not become counselors
        meanwhile."""
        candidates = [(i, r) for i, r in enumerate(look.ready)
                      if all(m in live for m in r.msg_ids)]
        if not candidates:
            return set()
        staff_ids = counselors.by_account(conn, [r.user for _, r in candidates])
        current = conversations.stamps(conn, [r.contact_id for _, r in candidates])
        return {i for i, r in candidates
                if r.user not in staff_ids and current.get(r.contact_id) == r.stamp}

    def look(self) -> Look | None:
        """A batch as stored now, read without the write lock, and its engine steps."""
        with reading(self.db) as conn:
            msgs = inbox.pending_batch(conn, self.batch, self.shard)
            if not msgs:
                return None
            users = list(dict.fromkeys((m.channel, m.sender) for m in msgs))
            known = {u: k for u in users if (k := self.known.get(u)) is not None}
            unknown = [u for u in users if u not in known]
            staff_ids = counselors.by_account(conn, unknown)  # `known`: checked at the write
            family = [u for u in users if u not in staff_ids]
            contacts = conversations.find_contacts(conn, [u for u in family if u not in known])
            stored = conversations.load_stored(conn, [c.id for c in contacts.values()])
            convs = {u: Conv.of(c, None if (r := stored.get(c.id)) is None
                                else conversations.stored_row(conn, r))
                     for u, c in contacts.items()}
        for u, (row, resume) in known.items():
            stored[row[0]] = row
            convs[u] = resume.conv(conversations.contact_of(row))
        now = self.clock()
        starts: dict[tuple[str, str], tuple[Snapshot | None, str]] = {
            u: (None, "id") for u in family}  # first contact: no conversation yet
        starts.update({u: (c.snapshot, c.contact.language) for u, c in convs.items()})
        plans = plan_steps(self.flows, msgs, starts, now, convs)
        fast = self._ready(msgs, stored, convs, plans, now)
        return Look(now, msgs, stored, convs, plans, fast, ready.encode(fast))

    @staticmethod
    def _ready(msgs: list[inbox.Pending], stored: dict[int, tuple[Any, ...]],
               convs: dict[tuple[str, str], Conv], plans: dict[int, Plan],
               now: datetime) -> list[Ready]:
        """The contacts of a look whose writes can be made before the lock (bot.ready)."""
        by_user: dict[tuple[str, str], list[inbox.Pending]] = {}
        for m in msgs:
            by_user.setdefault((m.channel, m.sender), []).append(m)
        out = []
        for user, conv in convs.items():
            mine = by_user[user]
            row = stored.get(conv.contact.id)
            words = any(registration_code(m) is not None for m in mine)
            if row is not None and (r := ready.ready(conv, row, mine, plans, words, now)):
                out.append(r)
        return out

    def _handle(self, conn: Connection, msgs: list[inbox.Pending],
                look: Look | None = None) -> int:
        if not msgs:
            return 0
        now = look.now if look else self.clock()  # the time the planned steps were run at
        users = list(dict.fromkeys((m.channel, m.sender) for m in msgs))
        staff_ids = counselors.by_account(conn, users)  # a counselor is never a family
        contacts = conversations.touch_contacts(
            conn, [u for u in users if u not in staff_ids], now)
        ids = [c.id for c in contacts.values()]
        if look is None:
            rows = conversations.load_many(conn, ids)
            convs = {u: Conv.of(c, rows.get(c.id)) for u, c in contacts.items()}
            self.plans = plan_steps(self.flows, msgs, {u: (c.snapshot, c.contact.language)
                                                       for u, c in convs.items()}, now)
        else:  # what was read before the lock, where it is still what is stored
            convs, self.plans = {}, look.plans
            stored = conversations.load_stored(conn, ids)
            for u, c in contacts.items():
                row, before = stored.get(c.id), look.convs.get(u)
                if before is not None and row == look.stored.get(c.id):
                    before.contact = c  # the look's own Conv: this batch is its only user
                    convs[u] = before
                else:
                    convs[u] = Conv.of(c, None if row is None
                                       else conversations.stored_row(conn, row))
        writes = Writes(convs=list(convs.values()))
        for msg in msgs:
            user = (msg.channel, msg.sender)
            if user not in staff_ids and (cid := self._register(conn, msg, now)) is not None:
                staff_ids[user] = cid
                writes.processed.append(msg.id)
            elif user in staff_ids:
                counselor.handle(conn, staff_ids[user], msg, self.flows.bundle.catalog, now)
                writes.processed.append(msg.id)
            else:
                self._family(conn, msg, convs[user], writes, now)
        writes.flush(conn, now)
        self.handled += [m.id for m in msgs]
        return len(msgs)

    def _family(self, conn: Connection, msg: inbox.Pending, conv: Conv, writes: Writes,
                now: datetime) -> None:
        """The flow answers, unless a person holds the case: then the person hears it (and
        the flow answers safety words and imminent danger too)."""
        held = routing.held_by_person(conv)
        state = self.flows.flow.states.get(conv.snapshot.state) if conv.snapshot else None
        answering = state is not None and state.interrupt and not state.end  # a safety question
        danger = None
        if held and routing.safety_word(msg, self.flows.bundle.keywords) is None:
            danger = routing.danger(msg, self.flows.bundle.crisis)  # held cases only: a few
            flags = conv.snapshot.flags if conv.snapshot else ()
            if not answering and not is_imminent(danger, flags):
                return routing.relay_to_counselor(conn, msg, conv, writes, now, danger)
        turn = self._turn(msg, conv, now)
        apply_turn(conn, self.flows, msg, conv, turn, writes, now)
        if held and (answering or danger):  # what the bot answered: the person sees it too
            routing.copy_to_counselor(conn, msg, conv, now, danger,
                                      paged=any(e.kind == "emergency" for e in turn.events))

    def _turn(self, msg: inbox.Pending, conv: Conv, now: datetime) -> Turn:
        """The engine's answer to `msg` from where `conv` is now: planned, or stepped now."""
        plan = self.plans.pop(msg.id, None)
        if plan is not None and plan.language == conv.contact.language and \
                plan.starts_like(conv.snapshot):
            after = plan.turn.snapshot
            if plan.encoded is not None:
                conv.encoded = (after.answers, after.flags, *plan.encoded)
            return plan.turn
        return self.flows.step(conv.snapshot, inbound_of(msg), now, conv.contact.language)

    def _register(self, conn: Connection, msg: inbox.Pending, now: datetime) -> int | None:
        """`/daftar CODE`: a valid one-time code makes the sender a counselor."""
        code = registration_code(msg)
        if code is None:
            return None
        cid = counselors.redeem(conn, code, msg.channel, msg.sender, now)
        if cid is not None:
            me = counselors.get(conn, cid)
            assert me is not None
            staff.say(conn, cid, "registered", now, name=me.name, role=labels.word("role", me.role))
            cases.add_events(conn, [{"case_id": None, "contact_id": None,
                                     "actor": f"counselor:{cid}", "kind": "registered",
                                     "data": {"channel": msg.channel}, "created_at": now}])
        return cid

    def _one_at_a_time(self) -> int:
        """After a failure: each message alone; a failing one is retried, then set aside.

        Returns the messages attempted, failed attempts included, so callers that loop
        until nothing is left keep going until a failing message is set aside.
        """
        attempted = 0
        with self.db.connect() as conn:
            keys = inbox.pending_contacts(conn, self.batch)
            conn.rollback()
        for key in keys:
            while (outcome := self._try_head(key)) is not None:
                attempted += 1
                if outcome is False:
                    break
        return attempted

    def _lock_one(self, conn: Connection, key: str) -> bool:
        return not self.postgres or bool(conn.execute(select(func.pg_try_advisory_xact_lock(
            func.hashtextextended(key, 0)))).scalar_one())

    def _try_head(self, key: str) -> bool | None:
        """Process the oldest pending message of one contact: True, False (failed) or None."""
        head: list[inbox.Pending] = []
        try:
            with self.db.begin() as conn:
                if not self._lock_one(conn, key):
                    return None
                head = inbox.pending_for(conn, key, limit=1)
                return self._handle(conn, head) == 1 or None
        except Exception as exc:
            if not head or not message_error(exc):
                raise
            log.exception("inbound message %s failed (attempt %d)", head[0].id,
                          head[0].attempts + 1)
            self._set_aside(head[0], exc)
            return False

    def _set_aside(self, msg: inbox.Pending, exc: Exception) -> None:
        """Count the failed attempt under the contact's lock; give up after MAX_ATTEMPTS."""
        with self.db.begin() as conn:
            if not self._lock_one(conn, msg.contact_key):
                return  # another worker is on this contact now; it will count its own try
            current = inbox.pending_for(conn, msg.contact_key, limit=1)
            if not current or current[0].id != msg.id:
                return
            give_up = current[0].attempts + 1 >= MAX_ATTEMPTS
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
