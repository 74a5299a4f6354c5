"""Apply engine turns inside the processor's transaction: the host side of a step.

Writes that are the same for every message (message log, outbox rows, audit rows, the
conversation) are collected and flushed once per batch; a case is created at once, since
later messages of the batch need its number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection

from bot import casehooks, quickexit
from bot.channels.split import split_reply
from flows.catalog import Rendered
from flows.engine import Engine as FlowEngine
from flows.text import clean
from flows.types import Choice, Event, Snapshot, Turn
from storage import bulk, cases, conversations, counselors, inbox, jsontext, outbox, queue
from storage.clock import utc

MAX_LOG_CHARS = 4096
BOT = "bot"


@dataclass
class Conv:
    """A contact's conversation while a batch is processed: what the next step starts from."""

    contact: conversations.ContactRow
    conv_id: int | None
    snapshot: Snapshot | None
    case_id: int | None
    case_number: str | None
    case_status: str | None = None
    assignee_id: int | None = None
    triage: cases.Triage | None = None  # the case's priority and reasons, as this batch has them
    changed: bool = False
    # A snapshot's answers and flags JSON-encoded ahead, valid while they are the same objects
    encoded: tuple[dict[str, Any], tuple[str, ...], bulk.Encoded, bulk.Encoded] | None = None

    @classmethod
    def of(cls, contact: conversations.ContactRow,
           row: conversations.ConversationRow | None) -> Conv:
        if row is None:
            return cls(contact, None, None, None, None)
        snap = Snapshot(row.flow, row.state, row.language, dict(row.answers), tuple(row.flags),
                        row.misses, row.flow_version, row.case_number, utc(row.updated_at))
        return cls(contact, row.id, snap, row.case_id, row.case_number, row.case_status,
                   row.assignee_id, row.case_triage)

    def values(self) -> dict[str, Any]:
        s = self.snapshot
        assert s is not None
        answers: Any = s.answers
        flags: Any = list(s.flags)
        if self.encoded and self.encoded[0] is s.answers and self.encoded[1] is s.flags:
            answers, flags = self.encoded[2], self.encoded[3]
        return {"flow": s.flow, "flow_version": s.flow_version, "state": s.state,
                "language": s.language, "answers": answers, "flags": flags,
                "misses": s.misses, "case_id": self.case_id}


@dataclass
class Writes:
    """Rows for one batch, written together just before it commits."""

    logs: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    processed: list[int] = field(default_factory=list)
    triage: dict[int, dict[str, Any]] = field(default_factory=dict)  # case id -> new values
    redacted: list[int] = field(default_factory=list)  # inbox rows whose words must go
    notices: list[str] = field(default_factory=list)  # service notices for the current turn
    convs: list[Conv] = field(default_factory=list)
    _roster: counselors.Roster | None = None

    def roster(self, conn: Connection) -> counselors.Roster:
        """Who is on duty, read once per batch (the batch is one transaction)."""
        if self._roster is None:
            self._roster = counselors.roster(conn)
        return self._roster

    def flush(self, conn: Connection, now: datetime) -> None:
        new = [{"contact_id": c.contact.id, **c.values()} for c in self.convs
               if c.conv_id is None and c.snapshot is not None]
        changed = [{"id": c.conv_id, **c.values()} for c in self.convs
                   if c.conv_id is not None and c.changed]
        conversations.save_many(conn, new, changed, now)
        cases.save_triage(conn, [{"id": k, **v} for k, v in self.triage.items()])
        cases.add_events(conn, self.audit)
        cases.log_messages(conn, self.logs)
        outbox.enqueue(conn, self.outbox, now)
        if self.processed:
            inbox.mark_processed(conn, self.processed, now)
        if self.redacted:
            inbox.redact(conn, self.redacted)


def _apply_events(conn: Connection, flows: FlowEngine, msg: inbox.Pending, conv: Conv,
                  events: tuple[Event, ...], writes: Writes, now: datetime) -> None:
    """Consents and the case at once; staff told; an audit row for every event."""
    contact_id = conv.contact.id
    for ev in events:
        kind, data = ev.kind, ev.data
        if kind == "consent":
            cases.record_consent(conn, contact_id=contact_id, data=ev.data, now=now)
            if ev.data["choice"] == "refuse" and conv.case_id is None:
                cases.redact_contact(conn, contact_id, msg.contact_key)
        elif kind == "stop":
            conversations.set_status(conn, contact_id, "stopped")
        elif kind == "case_upsert" and conv.case_id is not None and conv.case_status != "closed":
            if casehooks.raised(conn, conv, data, writes, now):
                kind = "case_raised"
        elif kind == "case_upsert":
            previous = conv.case_id  # a family back after a closed case: a new, linked case
            conv.case_id, conv.case_number = cases.create(
                conn, contact_id=contact_id, channel=msg.channel, data=data, now=now,
                previous_case_id=previous)
            conv.case_status, conv.assignee_id, kind = "waiting", None, "case_opened"
            conv.triage = cases.Triage(data["priority"], tuple(data["reasons"]),
                                       data["legal_basis"], data.get("category"),
                                       data.get("distrik"))
            view = queue.new_view(conv.case_id, conv.case_number, contact_id, msg.channel,
                                  data, now)
            notice = casehooks.opened(conn, flows.bundle.catalog, view, conv.contact.language,
                                      now, writes.roster(conn))
            if notice:
                writes.notices.append(notice)
        elif kind == "message_while_resting" and not _keeps_no_words(conv):
            data = {**data, "text": clean(str(msg.payload.get("text") or ""))[:500],
                    "media": msg.payload.get("media") or []}
        elif kind == "satisfaction" and conv.case_id is not None:
            casehooks.satisfaction(conn, conv.case_id, int(data["score"]), now)
        elif kind == "quick_exit":  # the chat cleared where it can be, before the reply
            clear = quickexit.row(msg.channel, msg.sender, contact_id, conv.case_id, msg.id)
            if clear is not None:
                writes.outbox.append(clear)
            data = {**data, "chat_cleared": clear is not None}
        if kind in casehooks.SAFETY_EVENTS and conv.assignee_id and \
                conv.case_status == "claimed":  # the person holding the case hears at once
            casehooks.family_safety(conn, conv.case_id, conv.assignee_id, msg, kind, now)
        writes.audit.append(audit_row(conv, kind, data, now))


def audit_row(conv: Conv, kind: str, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The case_events row for one of the bot's events in `conv`."""
    return {"case_id": conv.case_id, "contact_id": conv.contact.id, "actor": BOT,
            "kind": kind, "data": data, "created_at": now}


# The message log and outbox rows a turn makes before the write lock (`prepare`), in these
# columns' order and encoded as SQLite stores them: written as they are (bot.ready).
LOG_ROW = ("contact_id", "case_id", "inbox_id", "direction", "author", "text", "truncated",
           "original_length", "media", "created_at")
OUTBOX_ROW = ("channel", "recipient", "contact_id", "case_id", "payload", "dedupe_key",
              "status", "attempts", "available_at", "created_at")
LOG_SQL = bulk.writer(cases.LOG, LOG_ROW, None)[0]
OUTBOX_SQL = bulk.writer(outbox.T, OUTBOX_ROW, None)[0]


class Prepared(NamedTuple):  # one per message: a tuple is the cheapest to make
    """A turn's message log and outbox rows, made before the write lock from the contact
    and case it was planned with: `LOG_ROW` and `OUTBOX_ROW` values, as SQLite stores them."""

    logs: list[tuple[Any, ...]]
    outbox: list[tuple[Any, ...]]
    redact: bool


def simple(conv: Conv, events: tuple[Event, ...]) -> bool:
    """Events whose writes are rows alone, made the same way before the lock (bot.ready):
    a consent given, and what the intake adds to a case that exists. Opening a case, a
    refusal, a stop and the rest are done under the lock."""
    return all((ev.kind == "consent" and ev.data["choice"] != "refuse")
               or (ev.kind == "case_upsert" and conv.case_id is not None
                   and conv.case_status != "closed") for ev in events)


def prepare(flows: FlowEngine, msg: inbox.Pending, conv: Conv, turn: Turn,
            now: datetime) -> Prepared | None:
    """The rows `apply_turn` would write for `turn` from `conv` (not changed); None where
    its events need more than rows (`simple`)."""
    if not simple(conv, turn.events):
        return None  # a case opened, a refusal...: written under the lock, in order
    snap = turn.snapshot
    extra = {"case_number": conv.case_number or ""}
    rendered = [flows.bundle.catalog.render(r, snap.language, extra) for r in turn.replies]
    logs: list[tuple[Any, ...]] = []
    replies: list[tuple[Any, ...]] = []
    redacted: list[int] = []
    _send(msg, conv, rendered, logs, replies, redacted, now, snap, encoded=True)
    return Prepared(logs, replies, bool(redacted))


def apply_turn(conn: Connection, flows: FlowEngine, msg: inbox.Pending, conv: Conv,
               turn: Turn, writes: Writes, now: datetime) -> None:
    """Record one turn: events and case now; log, outbox and conversation with the batch.
    (What a plan prepared is not used here: this is the way of the turns that were not
    written as prepared, bot.ready, and they are few.)"""
    if turn.events:
        _apply_events(conn, flows, msg, conv, turn.events, writes, now)
    snap = turn.snapshot
    if snap.language != conv.contact.language:
        conversations.set_language(conn, conv.contact.id, snap.language)
        conv.contact = conversations.ContactRow(conv.contact.id, snap.language,
                                                conv.contact.status)
    conv.snapshot = snap if snap.case_number == conv.case_number else \
        replace(snap, case_number=conv.case_number)
    conv.changed = True
    extra = {"case_number": conv.case_number or ""}
    rendered = [flows.bundle.catalog.render(r, snap.language, extra) for r in turn.replies]
    if writes.notices:  # after the closing, but before a question (kept on a small screen)
        at = len(rendered) - 1 if rendered and rendered[-1].choices else len(rendered)
        rendered[at:at] = [Rendered(n) for n in writes.notices]
        writes.notices.clear()
    _send(msg, conv, rendered, writes.logs, writes.outbox, writes.redacted, now)
    writes.processed.append(msg.id)


def _keeps_no_words(conv: Conv, snap: Snapshot | None = None) -> bool:
    """Consent refused and no case: the service keeps counts, never the person's words."""
    snap = snap or conv.snapshot
    return snap is not None and "consent_refused" in snap.flags and conv.case_id is None


def payloads(channel: str, text: str, choices: tuple[Choice, ...],
             asked: str | None) -> list[dict[str, Any]]:
    """The outbox payloads of one rendered reply: split at the channel's limit, the choices
    numbered, and with choices the question they answer (`asked`: buttons answer it only)."""
    listed = [{"number": c.number, "value": c.value, "label": c.label} for c in choices]
    out = []
    for part, part_choices in split_reply(channel, text, listed):
        payload: dict[str, Any] = {"text": part, "choices": part_choices}
        if part_choices and asked is not None:
            payload["asked"] = asked
        out.append(payload)
    return out


# Every family that reaches the same question gets the same words: the encoded payloads are
# kept, not made again per message (a reply with a case number or a distrik's contacts is
# different text, so a different entry).
@lru_cache(maxsize=4096)
def _encoded_payloads(channel: str, text: str, choices: tuple[Choice, ...],
                      asked: str | None) -> tuple[str, ...]:
    return tuple(jsontext.dumps(p) for p in payloads(channel, text, choices, asked))


def _send(msg: inbox.Pending, conv: Conv, rendered: list[Rendered], logs: list[Any],
          replies: list[Any], redacted: list[int], now: datetime,
          snap: Snapshot | None = None, encoded: bool = False) -> None:
    """The message log rows of `msg` and the replies (to `logs`), the replies' outbox rows
    (to `replies`), `msg` to `redacted` if its words must go; `snap`: the conversation as
    the turn leaves it, where `conv` does not have it yet. Rows are dicts for `Writes`, or
    with `encoded` whole rows as SQLite stores them (`Prepared`; the same values, tested)."""
    snap = snap or conv.snapshot
    text = clean(str(msg.payload.get("text") or ""))
    contact_id = conv.contact.id
    case_id = conv.case_id if conv.case_status != "closed" else None  # a new intake
    if _keeps_no_words(conv, snap) and case_id is None:  # count the message, keep no words
        text, msg = "", msg._replace(payload={"redacted": True})
        redacted.append(msg.id)
    asked = snap.state if snap is not None else None
    media = msg.payload.get("media") or None
    if encoded:
        _encode_rows(msg, contact_id, case_id, text, media, rendered, asked, logs, replies, now)
        return
    logs.append({
        "contact_id": contact_id, "case_id": case_id, "inbox_id": msg.id, "direction": "in",
        "text": text[:MAX_LOG_CHARS], "truncated": len(text) > MAX_LOG_CHARS,
        "original_length": len(text), "media": media, "created_at": now, "author": "family"})
    n = 0
    for r in rendered:
        for payload in payloads(msg.channel, r.text, r.choices, asked):
            replies.append({
                "channel": msg.channel, "recipient": msg.sender, "contact_id": contact_id,
                "case_id": case_id, "payload": payload, "dedupe_key": f"in:{msg.id}:{n}"})
            n += 1
        logs.append({
            "contact_id": contact_id, "case_id": case_id, "inbox_id": msg.id,
            "direction": "out", "text": r.text, "truncated": False,
            "original_length": len(r.text), "media": None, "created_at": now,
            "author": BOT})


def _encode_rows(msg: inbox.Pending, contact_id: int, case_id: int | None, text: str,
                 media: Any, rendered: list[Rendered], asked: str | None,
                 logs: list[Any], replies: list[Any], now: datetime) -> None:
    """`_send`'s rows as `LOG_ROW` and `OUTBOX_ROW` tuples, encoded as `bulk` encodes them
    (times as text, JSON as text, booleans as 0/1), made directly: no dict per row."""
    at = bulk.stored_time(now)
    logs.append((contact_id, case_id, msg.id, "in", "family", text[:MAX_LOG_CHARS],
                 int(len(text) > MAX_LOG_CHARS), len(text),
                 None if media is None else jsontext.dumps(media), at))
    n = 0
    for r in rendered:
        for payload in _encoded_payloads(msg.channel, r.text, r.choices, asked):
            replies.append((msg.channel, msg.sender, contact_id, case_id, payload,
                            f"in:{msg.id}:{n}", "pending", 0, at, at))
            n += 1
        logs.append((contact_id, case_id, msg.id, "out", BOT, r.text, 0, len(r.text), None, at))


def apologise(conn: Connection, flows: FlowEngine, msg: inbox.Pending, now: datetime) -> None:
    """A message we could not handle after several tries: say so kindly, keep the message."""
    contact = conversations.touch_contact(conn, msg.channel, msg.sender, now)
    conv = Conv.of(contact, conversations.load(conn, contact.id))
    lang = conv.snapshot.language if conv.snapshot else contact.language
    writes = Writes()
    _send(msg, conv, [Rendered(flows.bundle.catalog.text("internal_error", lang))], writes.logs,
          writes.outbox, writes.redacted, now)
    writes.audit.append(audit_row(conv, "message_set_aside", {"inbox_id": msg.id}, now))
    writes.flush(conn, now)
