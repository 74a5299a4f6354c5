"""A turn's writes: the one place each row of a family's turn is built.

`bot.pipeline.decide.record` turns one engine turn (a contact's conversation as stored, the
inbound message, the engine's answer) into typed rows (storage.rows), collected in a `Batch`
and written together just before the transaction commits. What must see the database under
the write lock (opening a case, alerts, a refusal's redaction...) is an effect, registered
by event kind (bot.pipeline.effects). The same code runs before the lock: with no
connection, a turn that needs an effect raises `NeedsLock`, and that contact is done under
the lock instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection

from bot.channels.split import split_reply
from flows.actions import OTHER_AUTHOR, WRITER
from flows.catalog import Rendered
from flows.engine import Engine as FlowEngine
from flows.text import clean
from flows.types import Choice, Snapshot
from storage import cases, conversations, counselors, inbox, jsontext
from storage.bulk import Encoded
from storage.clock import utc
from storage.rows import (
    EventRow,
    LogRow,
    NewConversation,
    OutboxRow,
    Processed,
    Redacted,
    Row,
    SavedConversation,
    Seen,
    write_rows,
)

MAX_LOG_CHARS = 4096
BOT = "bot"
FAMILY = "family"


class NeedsLock(Exception):
    """Raised before the write lock by a turn that needs the database (an effect)."""


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

    @classmethod
    def of(cls, contact: conversations.ContactRow,
           row: conversations.ConversationRow | None) -> Conv:
        if row is None:
            return cls(contact, None, None, None, None)
        snap = Snapshot(row.flow, row.state, row.language, dict(row.answers), tuple(row.flags),
                        row.misses, row.flow_version, row.case_number, utc(row.updated_at))
        return cls(contact, row.id, snap, row.case_id, row.case_number, row.case_status,
                   row.assignee_id, row.case_triage)

    def rows(self, now: datetime, wrote: bool = True) -> list[Row]:
        """At the end of the contact's part of a batch: the conversation saved, if it
        changed, and (`wrote`: not where the scheduler moved it) the time the contact last
        wrote."""
        out: list[Row] = [Seen(now, self.contact.id)] if wrote else []
        s = self.snapshot
        if s is None or not (self.changed or self.conv_id is None):
            return out
        if self.conv_id is None:
            out.append(NewConversation(self.contact.id, s.flow, s.flow_version, s.state,
                                       s.language, s.answers, list(s.flags), s.misses,
                                       self.case_id, now, now))
        else:
            at = now if wrote else s.updated_at or now  # the scheduler filing her intake:
            # her time away still counts from her last message (a review: resume after 24 h)
            out.append(SavedConversation(s.flow, s.flow_version, s.state, s.language, s.answers,
                                         list(s.flags), s.misses, self.case_id, at,
                                         self.conv_id))
        return out


class Notice(NamedTuple):
    """A service notice for the family in this turn (bot.pipeline.casehooks), after the
    turn's other texts and before its question (bot.pipeline.decide); `short`: its text
    where the turn's texts already gave the emergency numbers; `numbers`: its
    `{emergency_contacts}` are the conversation's, filled in as the turn is recorded;
    `hours`: not said beside the closing, which says when."""

    text: str
    short: str = ""
    numbers: bool = False
    hours: bool = False  # when staff answer, outside service hours: the closing says it too
    # said instead of the turn's replies whose keys begin so (nothing where it has none)
    instead: tuple[str, ...] = ()


@dataclass
class Batch:
    """The rows of one batch (or, before the lock, of one contact's part of it)."""

    conn: Connection | None  # None: before the write lock
    flows: FlowEngine
    now: datetime
    rows: list[Row] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # service notices for the turn
    _roster: counselors.Roster | None = None

    def need(self) -> Connection:
        """The connection, for an effect; before the write lock there is none."""
        if self.conn is None:
            raise NeedsLock
        return self.conn

    def roster(self) -> counselors.Roster:
        """Who is on duty, read once per batch (the batch is one transaction)."""
        if self._roster is None:
            self._roster = counselors.roster(self.need())
        return self._roster

    def write(self) -> None:
        write_rows(self.need(), self.rows)


def event_row(conv: Conv, kind: str, data: dict[str, Any], now: datetime) -> EventRow:
    """The audit row for one of the bot's events in `conv`."""
    return EventRow(conv.case_id, conv.contact.id, BOT, kind, data, now)


def inbound_row(msg: inbox.Pending, contact_id: int, case_id: int | None, text: str,
                media: Any, now: datetime, author: str = FAMILY) -> LogRow:
    """A family's message in the transcript (long ones cut, the fact recorded); `author`
    OTHER_AUTHOR when someone other than the phone's owner writes (flows/phrases.yaml)."""
    return LogRow(contact_id, case_id, msg.id, "in", author, text[:MAX_LOG_CHARS],
                  len(text) > MAX_LOG_CHARS, len(text), media or None, now)


def author_of(snap: Snapshot | None) -> str:
    """Who wrote a family's message, for the transcript: OTHER_AUTHOR while someone other
    than the phone's owner writes (flows.writers), else the family."""
    return OTHER_AUTHOR if snap is not None and WRITER in snap.answers else FAMILY


def keeps_no_words(conv: Conv) -> bool:
    """Consent refused and no case: the service keeps counts, never the person's words."""
    snap = conv.snapshot
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
                      asked: str | None) -> tuple[Encoded, ...]:
    return tuple(Encoded(jsontext.dumps(p)) for p in payloads(channel, text, choices, asked))


def send(batch: Batch, msg: inbox.Pending, conv: Conv, rendered: list[Rendered]) -> None:
    """The transcript rows of `msg` and of the replies, the replies' outbox rows, and `msg`
    done with (its words dropped where they must not be kept)."""
    now, snap = batch.now, conv.snapshot
    text = clean(str(msg.payload.get("text") or ""))
    contact_id = conv.contact.id
    case_id = conv.case_id if conv.case_status != "closed" else None  # a new intake
    if keeps_no_words(conv) and case_id is None:  # count the message, keep no words
        text, msg = "", msg._replace(payload={"redacted": True})
        batch.rows.append(Redacted({"redacted": True}, msg.id))
    rows = batch.rows
    rows.append(inbound_row(msg, contact_id, case_id, text, msg.payload.get("media"), now,
                            author_of(snap)))
    replies(batch, msg, conv, rendered, case_id)
    rows.append(Processed(now, msg.id))


def replies(batch: Batch, msg: inbox.Pending, conv: Conv, rendered: list[Rendered],
            case_id: int | None) -> None:
    """The outbox rows and transcript lines of the bot's replies to `msg`."""
    now, contact_id, rows = batch.now, conv.contact.id, batch.rows
    asked = conv.snapshot.state if conv.snapshot is not None else None
    n = 0
    for r in rendered:
        for payload in _encoded_payloads(msg.channel, r.text, r.choices, asked):
            rows.append(OutboxRow(msg.channel, msg.sender, contact_id, case_id, payload,
                                  f"in:{msg.id}:{n}", "pending", 0, now, now))
            n += 1
        rows.append(LogRow(contact_id, case_id, msg.id, "out", BOT, r.text, False,
                           len(r.text), None, now))


def apologise(conn: Connection, flows: FlowEngine, msg: inbox.Pending, now: datetime) -> None:
    """A message we could not handle after several tries: say so kindly, keep the message."""
    contact = conversations.touch_contact(conn, msg.channel, msg.sender, now)
    conv = Conv.of(contact, conversations.load(conn, contact.id))
    lang = conv.snapshot.language if conv.snapshot else contact.language
    batch = Batch(conn, flows, now)
    send(batch, msg, conv, [Rendered(flows.bundle.catalog.text("internal_error", lang))])
    batch.rows.append(event_row(conv, "message_set_aside", {"inbox_id": msg.id}, now))
    batch.write()
