"""Writes made ready before the write lock: a contact's whole batch, as SQLite rows.

Processors sharing one SQLite file read and plan a batch before taking the write lock
(bot.plans). For most contacts the plan is all there is to it: the flow answers, nothing
opens a case or records a consent. Their rows (message log, outbox, conversation, contact,
inbox) are then encoded before the lock too, and under the lock written as they are, if
the contact and its conversation are still exactly as read and no message was taken by
another processor. Anything else goes the usual way (`Processor._handle`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table

from bot import routing
from bot.apply import LOG_SQL, OUTBOX_SQL, Conv, audit_row
from bot.plans import Plan
from flows.types import Snapshot
from storage import bulk, inbox
from storage.cases import CASES, CONSENTS, EVENTS, Triage, consent_row
from storage.conversations import CONTACTS, CONVS, ContactRow, places, stamp, stored_after

Row = tuple[Table, dict[str, Any]]  # to INSERT into the table (consents, case events)
Encoded = tuple[str, tuple[Any, ...]]  # SQL, values as SQLite stores them
Statement = tuple[str, list[tuple[Any, ...]], list[int]]  # SQL, rows, whose (`encode`)

_SAVED = ("flow", "flow_version", "state", "language", "answers", "flags", "misses",
          "updated_at")  # a conversation's case stays: not written
_TRIAGED = ("priority", "reasons", "legal_basis", "category", "distrik")  # + updated_at
SAVE = bulk.positional(CONVS, (*_SAVED, "id"), "id")
TRIAGE = bulk.positional(CASES, (*_TRIAGED, "updated_at", "id"), "id")
SEEN = bulk.positional(CONTACTS, ("last_inbound_at", "id"), "id")
PROCESSED = bulk.positional(inbox.T, ("processed_at", "id"), "id")
_SAVED_AT = places(CONVS, _SAVED)
_TRIAGED_AT = places(CASES, _TRIAGED)


class Resume(NamedTuple):  # one per contact and batch: a tuple is the cheapest to make
    """A conversation as `Conv.of` would read it once a Ready's rows are written."""

    conv_id: int
    snapshot: Snapshot
    case_id: int | None
    case_number: str | None
    case_status: str | None
    assignee_id: int | None
    triage: Triage | None

    def conv(self, contact: ContactRow) -> Conv:
        return Conv(contact, self.conv_id, self.snapshot, self.case_id, self.case_number,
                    self.case_status, self.assignee_id, self.triage)


class Ready(NamedTuple):
    """One contact's writes for its messages of a batch, valid while `stored` is current."""

    user: tuple[str, str]
    contact_id: int
    stored: tuple[Any, ...]  # the conversation with its case and contact, as read (raw)
    stamp: str  # `stored` as `conversations.stamps` reads it
    msg_ids: tuple[int, ...]
    logs: list[tuple[Any, ...]]  # message log rows (`apply.LOG_ROW`), as SQLite stores them
    outbox: list[tuple[Any, ...]]  # outbox rows (`apply.OUTBOX_ROW`), the same
    rows: tuple[Row, ...]  # other INSERTs
    updates: tuple[Encoded, ...]
    after: tuple[Any, ...]  # `stored` as it reads once the rows are written
    resume: Resume  # and the conversation it decodes to


def ready(conv: Conv, stored: tuple[Any, ...], msgs: Sequence[inbox.Pending],
          plans: dict[int, Plan], staff_words: bool, now: datetime) -> Ready | None:
    """The rows `Processor._handle` would write for `msgs` (one contact's, in order), or
    None where it would do more than write rows: a first message, a case held by a person,
    an event beyond a consent or a case's new answers (`bot.apply.simple`), a case whose
    priority rises (staff may have to hear), a change of language, a stopped contact, a
    redacted message, a counselor's registration code (`staff_words`)."""
    if conv.conv_id is None or conv.snapshot is None or conv.contact.status == "stopped" \
            or staff_words or routing.held_by_person(conv):
        return None
    rows: list[Row] = []
    logs: list[tuple[Any, ...]] = []
    replies: list[tuple[Any, ...]] = []
    triage, raised = conv.triage, False
    last: Plan | None = None
    for msg in msgs:
        plan = plans.get(msg.id)
        p = plan.prepared if plan is not None else None
        if plan is None or p is None or p.redact or plan.encoded is None or \
                plan.turn.snapshot.language != conv.contact.language:
            return None
        for ev in plan.turn.events:  # the same rows `apply._apply_events` makes
            kind = ev.kind
            if kind == "consent":
                rows.append((CONSENTS, consent_row(conv.contact.id, ev.data, now)))
            else:  # case_upsert, the case exists (`simple`)
                if triage is None:
                    return None  # not read with the conversation
                more = triage.raised(ev.data)
                if more.priority != triage.priority:
                    return None  # perhaps to be announced again: under the lock
                triage, raised = more, True
            rows.append((EVENTS, audit_row(conv, kind, ev.data, now)))
        logs += p.logs
        replies += p.outbox
        last = plan
    assert last is not None and last.encoded is not None
    snap = last.turn.snapshot
    answers, flags = last.encoded
    sql, encode_row = SAVE
    saved = encode_row(snap.flow, snap.flow_version, snap.state, snap.language, answers, flags,
                       snap.misses, now, conv.conv_id)
    updates = [(sql, saved)]
    after = stored_after(stored, _SAVED_AT, saved)
    if raised and triage is not None:
        sql, encode_row = TRIAGE
        case = encode_row(triage.priority, list(triage.reasons), triage.legal_basis,
                          triage.category, triage.distrik, now, conv.case_id)
        updates.append((sql, case))
        after = stored_after(after, _TRIAGED_AT, case)  # updated_at is not read
    sql, encode_row = SEEN
    updates.append((sql, encode_row(now, conv.contact.id)))
    sql, encode_row = PROCESSED
    updates += [(sql, encode_row(now, m.id)) for m in msgs]
    resume = Resume(conv.conv_id, snap, conv.case_id, conv.case_number, conv.case_status,
                    conv.assignee_id, triage)
    return Ready((msgs[0].channel, msgs[0].sender), conv.contact.id, stored, stamp(stored),
                 tuple(m.id for m in msgs), logs, replies, tuple(rows), tuple(updates), after,
                 resume)


def encode(batch: Sequence[Ready]) -> list[Statement]:
    """The rows of `batch` for the driver, one statement per table and kind of row: (SQL,
    values, whose), where `whose[i]` is the position in `batch` of the contact whose row
    `values[i]` is. Done before the write lock."""
    inserts: dict[tuple[Table, tuple[str, ...]], tuple[list[Any], list[int]]] = {}
    updates: dict[str, tuple[list[Any], list[int]]] = {}
    logs: list[tuple[Any, ...]] = []
    replies: list[tuple[Any, ...]] = []
    log_whose: list[int] = []
    reply_whose: list[int] = []
    for i, r in enumerate(batch):
        logs += r.logs
        log_whose += [i] * len(r.logs)
        replies += r.outbox
        reply_whose += [i] * len(r.outbox)
        for table, row in r.rows:
            _add(inserts, (table, tuple(row)), row, i)
        for sql, values in r.updates:
            _add(updates, sql, values, i)
    out: list[Statement] = [(LOG_SQL, logs, log_whose), (OUTBOX_SQL, replies, reply_whose)]
    for (table, keys), (rows, whose) in inserts.items():
        sql, encode_row = bulk.writer(table, keys, None)
        out.append((sql, [encode_row(row) for row in rows], whose))
    out += [(sql, values, whose) for sql, (values, whose) in updates.items()]
    return out


def _add(groups: dict[Any, tuple[list[Any], list[int]]], kind: Any, row: Any, whose: int) -> None:
    group = groups.get(kind)
    if group is None:
        group = groups[kind] = ([], [])
    group[0].append(row)
    group[1].append(whose)


def write(conn: Connection, statements: Sequence[Statement],
          ok: Collection[int] | None = None) -> None:
    """Write the rows `encode` made, many per statement: of the contacts at positions `ok`,
    or (None) of every one."""
    for sql, values, whose in statements:
        mine = values if ok is None else [v for v, i in zip(values, whose, strict=True)
                                          if i in ok]
        if mine:
            conn.exec_driver_sql(sql, mine)
