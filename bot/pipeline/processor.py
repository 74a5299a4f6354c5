"""The inbox processor: each contact's messages in order, each exactly once; a batch's writes
commit together.

One unit of work: for each message, the engine's step (bot.pipeline.plans) and the rows and effects
it makes (bot.pipeline.decide), written by one writer (storage.rows). A lone processor does a batch
under SQLite's write lock (or, on PostgreSQL, under per-contact advisory locks). Several
processors sharing one SQLite file do the same work for most contacts before taking the
lock (`look`), and under it (`finish`) write those rows where what they were made from is
still what is stored, and decide the rest there: the same code either way, only the time the
lock is taken differs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from bot.casework import counselor, labels, staff
from bot.pipeline import routing, setaside
from bot.pipeline.apply import Batch, Conv, NeedsLock, apologise
from bot.pipeline.decide import record
from bot.pipeline.handoff import release as release_held
from bot.pipeline.held import told_unsafe, unsafe_now
from bot.pipeline.plans import Plan, inbound_of, plan_steps
from flows.actions import UNSAFE_NOW
from flows.danger import is_imminent
from flows.engine import Engine as FlowEngine
from flows.text import clean
from flows.types import Snapshot, Turn
from storage import conversations, counselors, inbox, rows
from storage.db import reading, writing
from storage.rows import EventRow, write_rows

log = logging.getLogger(__name__)
REGISTER = re.compile(r"^/(daftar|register)(?:@\w+)?\s+(\S+)", re.IGNORECASE)


def registration_code(msg: inbox.Pending) -> str | None:
    """The one-time code of a `/daftar CODE` message, if it is one."""
    text = str(msg.payload.get("text") or "")
    if "/" not in text:  # most messages: cleaning adds no slash
        return None
    found = REGISTER.match(clean(text))
    return found.group(2) if found else None


# Messages per transaction at most. Under load more per commit costs less per message
# (measured with `lk3 bench`: 500 did better than 200, and no worse than 1,000); a batch
# holds SQLite's write lock for tens of milliseconds, which adapters wait out in turn.
BATCH = 500


class Ready(NamedTuple):
    """One contact's rows for its messages of a batch, decided before the write lock:
    valid while its conversation (with case and contact) is stored as `stamp` says."""

    contact_id: int
    user: tuple[str, str]
    stamp: str
    msg_ids: tuple[int, ...]
    encoded: rows.Values


@dataclass(frozen=True)
class Look:
    """A batch as read before the write lock: messages, conversations, planned steps, and
    the contacts decided already."""

    now: datetime
    msgs: list[inbox.Pending]
    stored: dict[int, tuple[Any, ...]]  # contact id -> conversation row as stored
    convs: dict[tuple[str, str], Conv]
    plans: dict[int, Plan]
    ready: list[Ready]


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

    def run_once(self) -> int:
        """Process what is pending, one batch per transaction; returns messages handled
        (or, when another worker took them first, found)."""
        self.handled = []
        try:
            if self.ahead:
                return self.finish(self.look())
            with writing(self.db) as conn:
                return self._handle(conn, self._claim(conn, self.batch))
        except Exception as exc:
            if not setaside.message_error(exc):
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
        held = inbox.hold_contacts(conn, keys, limit)
        return inbox.pending_of(conn, held, limit) if held else []

    def look(self) -> Look | None:
        """A batch as stored now, read without the write lock; its engine steps, and the
        rows of each contact whose turns need no effect."""
        with reading(self.db) as conn:
            msgs = inbox.pending_batch(conn, self.batch, self.shard)
            if not msgs:
                return None
            users = list(dict.fromkeys((m.channel, m.sender) for m in msgs))
            staff_ids = counselors.by_account(conn, users)
            family = [u for u in users if u not in staff_ids]
            contacts = conversations.find_contacts(conn, family)
            stored = conversations.load_stored(conn, [c.id for c in contacts.values()])
            convs = {u: Conv.of(c, None if (r := stored.get(c.id)) is None
                                else conversations.stored_row(conn, r))
                     for u, c in contacts.items()}
        now = self.clock()
        starts: dict[tuple[str, str], tuple[Snapshot | None, str]] = {
            u: (None, "id") for u in family}  # first contact: no conversation yet
        starts.update({u: (c.snapshot, c.contact.language) for u, c in convs.items()})
        plans = plan_steps(self.flows, msgs, starts, now)
        by_user: dict[tuple[str, str], list[inbox.Pending]] = {}
        for m in msgs:
            by_user.setdefault((m.channel, m.sender), []).append(m)
        ready = [r for u, c in convs.items()
                 if (r := self._ahead(u, by_user[u], c, stored, plans, now)) is not None]
        return Look(now, msgs, stored, convs, plans, ready)

    def _ahead(self, user: tuple[str, str], msgs: list[inbox.Pending], conv: Conv,
               stored: dict[int, tuple[Any, ...]], plans: dict[int, Plan],
               now: datetime) -> Ready | None:
        """One contact's messages decided before the lock, if none needs the database
        (a first message, a stopped contact, a case held by a person and a counselor's
        registration code are left for the lock too)."""
        if conv.conv_id is None or conv.contact.status == "stopped" or \
                routing.held_by_person(conv) or \
                any(registration_code(m) is not None for m in msgs):
            return None
        trial, batch = replace(conv), Batch(None, self.flows, now)
        try:
            for m in msgs:
                plan = plans.get(m.id)
                if plan is None or plan.language != trial.contact.language or \
                        not plan.starts_like(trial.snapshot):
                    return None
                record(batch, m, trial, plan.turn)
        except NeedsLock:
            return None
        batch.rows += trial.rows(now)
        return Ready(conv.contact.id, user, conversations.stamp(stored[conv.contact.id]),
                     tuple(m.id for m in msgs), rows.encode(batch.rows, "sqlite"))

    def finish(self, look: Look | None) -> int:
        """Under the write lock: the contacts decided ahead whose messages nobody processed
        meanwhile and whose conversation is still as read; the rest decided now, each from
        its conversation as stored now (planned steps where it did not change)."""
        if look is None:
            return 0
        with writing(self.db) as conn:
            live = inbox.still_pending(conn, [m.id for m in look.msgs])
            fast = self._still_ready(conn, look.ready, live)
            rows.write(conn, rows.merge([r.encoded for r in fast]))
            written = {i for r in fast for i in r.msg_ids}
            msgs = [m for m in look.msgs if m.id in live and m.id not in written]
            done = self._handle(conn, msgs, look) + len(written) or len(look.msgs)
            self.handled += written
        return done

    @staticmethod
    def _still_ready(conn: Connection, ready: list[Ready], live: set[int]) -> list[Ready]:
        """Those of `ready` whose messages are all still pending, whose conversation (with
        its case and contact) is stored as read, and who have not become counselors."""
        candidates = [r for r in ready if all(m in live for m in r.msg_ids)]
        if not candidates:
            return []
        staff_ids = counselors.by_account(conn, [r.user for r in candidates])
        current = conversations.stamps(conn, [r.contact_id for r in candidates])
        return [r for r in candidates
                if r.user not in staff_ids and current.get(r.contact_id) == r.stamp]

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
        conversations.lock(conn, ids)  # PostgreSQL: staff's writes wait, or were committed
        if look is None:
            stored_rows = conversations.load_many(conn, ids)
            convs = {u: Conv.of(c, stored_rows.get(c.id)) for u, c in contacts.items()}
            self.plans = plan_steps(self.flows, msgs, {u: (c.snapshot, c.contact.language)
                                                       for u, c in convs.items()}, now)
        else:  # what was read before the lock, where it is still what is stored
            convs, self.plans = {}, look.plans
            stored = conversations.load_stored(conn, ids)
            for u, c in contacts.items():
                row, before = stored.get(c.id), look.convs.get(u)
                if before is not None and row == look.stored.get(c.id):
                    convs[u] = replace(before, contact=c)
                else:
                    convs[u] = Conv.of(c, None if row is None
                                       else conversations.stored_row(conn, row))
        batch = Batch(conn, self.flows, now)
        for msg in msgs:
            user = (msg.channel, msg.sender)
            if user not in staff_ids and (cid := self._register(conn, msg, now)) is not None:
                staff_ids[user] = cid
                batch.rows.append(rows.Processed(now, msg.id))
            elif user in staff_ids:
                counselor.handle(conn, staff_ids[user], msg, self.flows.bundle.catalog, now)
                batch.rows.append(rows.Processed(now, msg.id))
            else:
                self._family(batch, msg, convs[user])
        for conv in convs.values():
            batch.rows += conv.rows(now)
        batch.write()
        self.handled += [m.id for m in msgs]
        return len(msgs)

    def _family(self, batch: Batch, msg: inbox.Pending, conv: Conv) -> None:
        """The flow answers, unless a person holds the case: then the person hears it (and
        the flow answers safety words and imminent danger too; other danger words as an
        intake would, once: bot.pipeline.helddanger)."""
        held = routing.held_by_person(conv)
        state = self.flows.flow.states.get(conv.snapshot.state) if conv.snapshot else None
        answering = state is not None and state.interrupt and not state.end  # a safety question
        asked = conv.snapshot.state if conv.snapshot else None
        danger = None
        if held and routing.safety_word(msg, self.flows.bundle) is None:
            flags = conv.snapshot.flags if conv.snapshot else ()
            danger = routing.danger(msg, self.flows.bundle.crisis, flags)  # held cases only
            if not answering and not is_imminent(danger, flags):
                release_held(batch, conv)  # what staff sent meanwhile, before their words
                # "1" to the question on the family's screen when a person took over: the
                # counselor reads what it chose (a walk-through's counselor got a bare "1")
                routing.relay_to_counselor(
                    batch, msg, conv, danger, routing.answered(self.flows.bundle, asked, msg))
                return unsafe_now(batch, conv, str(msg.payload.get("text") or ""),
                                  self.flows.bundle)  # "nanti dulu, mama tiri ada lihat"
        turn = self._turn(msg, conv, batch.now)
        if held and routing.not_an_answer(turn):
            # at the safety question, words that answer nothing go to the person only, marked
            # where they read as danger (a walk-through: "Maaf, saya belum mengerti" to a
            # family talking to a counselor)
            release_held(batch, conv, [ev.kind for ev in turn.events])
            routing.relay_to_counselor(batch, msg, conv, danger)
            return unsafe_now(batch, conv, str(msg.payload.get("text") or ""),
                              self.flows.bundle)
        record(batch, msg, conv, turn)
        if held and (answering or danger):  # what the bot answered: the person sees it too
            routing.copy_to_counselor(batch.need(), msg, conv, batch.now, danger,
                                      paged=any(e.kind == "emergency" for e in turn.events),
                                      said=routing.answered(self.flows.bundle, asked, msg))
        if held and UNSAFE_NOW in turn.snapshot.flags:  # a pause the flow answered too
            told_unsafe(batch, conv)

    def _turn(self, msg: inbox.Pending, conv: Conv, now: datetime) -> Turn:
        """The engine's answer to `msg` from where `conv` is now: planned, or stepped now."""
        plan = self.plans.pop(msg.id, None)
        if plan is not None and plan.language == conv.contact.language and \
                plan.starts_like(conv.snapshot):
            return plan.turn
        return self.flows.step(conv.snapshot, inbound_of(msg), now, conv.contact.language)

    def _register(self, conn: Connection, msg: inbox.Pending, now: datetime) -> int | None:
        """`/daftar CODE`: a valid one-time code makes the sender a counselor."""
        code = registration_code(msg)
        if code is None:
            return None
        cid = counselors.redeem(conn, code, msg.channel, msg.sender, now)
        if cid is not None:
            counselors.wrote(conn, msg.channel, msg.sender, now)
            me = counselors.get(conn, cid)
            assert me is not None
            staff.say(conn, cid, "registered", now, name=me.name, role=labels.word("role", me.role))
            write_rows(conn, [EventRow(None, None, f"counselor:{cid}", "registered",
                                       {"channel": msg.channel}, now)])
        return cid

    def _one_at_a_time(self) -> int:
        """After a failure: each message alone (bot.pipeline.setaside)."""
        return setaside.one_at_a_time(
            self.db, self.batch, self._handle,
            lambda conn, msg: apologise(conn, self.flows, msg, self.clock()), self.clock)


def process_all(processor: Processor, limit: int = 1_000_000) -> int:
    """Run until the inbox is empty (used by the terminal chat, tests and the benchmark)."""
    total = 0
    while total < limit:
        n = processor.run_once()
        if n == 0:
            return total
        total += n
    return total
