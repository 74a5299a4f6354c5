"""Writes made ready before the write lock: a contact's whole batch, as SQLite rows.

Processors sharing one SQLite file read and plan a batch before taking the write lock
(bot.plans). For most contacts the plan is all there is to it: the flow answers, nothing
opens a case or records a consent. Their rows (message log, outbox, conversation, contact,
inbox) are then encoded before the lock too, and under the lock written as they are, if
the contact and its conversation are still exactly as read and no message was taken by
another processor. Anything else goes the usual way (`Processor._handle`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot import routing
from bot.apply import Conv, audit_row
from bot.plans import Plan
from storage import bulk, inbox, outbox
from storage.cases import CASES, CONSENTS, EVENTS, LOG, consent_row
from storage.conversations import CONTACTS, CONVS, stored_after

Row = tuple[str, tuple[Any, ...]]  # SQL, values


@dataclass(frozen=True)
class Ready:
    """One contact's writes for its messages of a batch, valid while `stored` is current."""

    user: tuple[str, str]
    contact_id: int
    stored: tuple[Any, ...]  # the conversation with its case and contact, as read (raw)
    msg_ids: tuple[int, ...]
    rows: tuple[Row, ...]
    after: tuple[Any, ...]  # `stored` as it reads once the rows are written


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
    logs: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
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
                rows += bulk.encoded(CONSENTS, [consent_row(conv.contact.id, ev.data, now)])
            else:  # case_upsert, the case exists (`simple`)
                if triage is None:
                    return None  # not read with the conversation
                more = triage.raised(ev.data)
                if more.priority != triage.priority:
                    return None  # perhaps to be announced again: under the lock
                triage, raised = more, True
            rows += bulk.encoded(EVENTS, [audit_row(conv, kind, ev.data, now)])
        logs += p.logs
        replies += p.outbox
        last = plan
    assert last is not None and last.encoded is not None
    rows += bulk.encoded(LOG, logs)
    rows += bulk.encoded(outbox.T, outbox.new_rows(replies, now))
    snap = last.turn.snapshot
    answers, flags = last.encoded
    saved = {"flow": snap.flow, "flow_version": snap.flow_version, "state": snap.state,
             "language": snap.language, "answers": answers, "flags": flags,
             "misses": snap.misses, "case_id": conv.case_id, "updated_at": now}
    rows += bulk.encoded(CONVS, [{**saved, "id": conv.conv_id}], key="id")
    after = stored_after(stored, CONVS, saved)
    if raised and triage is not None:
        case = triage.values(now)
        rows += bulk.encoded(CASES, [{**case, "id": conv.case_id}], key="id")
        del case["updated_at"]  # not in a stored row
        after = stored_after(after, CASES, case)
    rows += bulk.encoded(CONTACTS, [{"last_inbound_at": now, "id": conv.contact.id}], key="id")
    rows += bulk.encoded(inbox.T, [{"processed_at": now, "id": m.id} for m in msgs], key="id")
    return Ready((msgs[0].channel, msgs[0].sender), conv.contact.id, stored,
                 tuple(m.id for m in msgs), tuple(rows), after)


def write(conn: Connection, batch: Sequence[Ready]) -> None:
    """Write the rows of `batch`: one statement per table and kind, many rows each."""
    by_sql: dict[str, list[tuple[Any, ...]]] = {}
    for r in batch:
        for sql, values in r.rows:
            by_sql.setdefault(sql, []).append(values)
    for sql, values_list in by_sql.items():
        conn.exec_driver_sql(sql, values_list)
