"""Intakes left half-way, filed for staff by the scheduler through the processor's writes.

What the flow decides (flows/lapse.py: the case event of an intake with consent and a
category, its priority from her answers) is recorded as a family's turn is: each event
through its effect (bot.pipeline.effects: `case_upsert` opens the case and alerts staff as
any new case), the conversation saved, all by the one writer, in one transaction with the
conversation locked and read again (a message she sent meanwhile wins: then it is not
idle). Nothing goes to her: no reply, no notice (the opening notice is dropped), and her
last-wrote time is not touched (bot.pipeline.held reads it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from bot.pipeline import effects
from bot.pipeline.apply import Batch, Conv
from flows import lapse
from flows.engine import Engine as FlowEngine
from flows.hours import ServiceHours
from storage import conversations, inbox


def candidates(conn: Connection, flows: FlowEngine, hours: ServiceHours,
               now: datetime) -> list[int]:
    """Contacts whose intake is due to be filed at `now` (read without the lock; `file`
    decides again under it)."""
    until = now - hours.incomplete_after
    resting = tuple(n for n, s in flows.flow.states.items() if s.end)
    ids = conversations.idle_intakes(conn, until - hours.incomplete_within, until, resting)
    rows = conversations.load_many(conn, ids) if ids else {}
    return [i for i in ids if (r := rows.get(i)) is not None and
            lapse.fileable(flows, Conv.of(conversations.ContactRow(i, r.language, "active"),
                                          r).snapshot)]


def file(conn: Connection, flows: FlowEngine, hours: ServiceHours, contact_id: int,
         now: datetime) -> str | None:
    """File this contact's intake if it is still left half-way long enough; the number of
    the case it opened, or None. `conn`: a write transaction."""
    conversations.lock(conn, [contact_id])
    row = conversations.load(conn, contact_id)
    if row is None or (row.case_id is not None and row.case_status != "closed"):
        return None
    channel, sender, status = conversations.contact(conn, contact_id)
    contact = conversations.ContactRow(contact_id, row.language, status)
    conv = Conv.of(contact, row)
    snap = conv.snapshot
    if status != "active" or snap is None or snap.updated_at is None or \
            now - snap.updated_at < hours.incomplete_after:
        return None
    turn = lapse.lapsed(flows, snap, now)
    if turn is None:
        return None
    batch = Batch(conn, flows, now)
    msg = inbox.Pending(0, channel, sender, f"{channel}:{sender}", "", {}, now, 0)  # none:
    effects.run_all(batch, msg, conv, turn.events)  # the effects read only its channel
    batch.notices.clear()  # not to her: she did not write
    conv.snapshot = replace(turn.snapshot, case_number=conv.case_number)
    conv.changed = True
    batch.rows += conv.rows(now, wrote=False)
    batch.write()
    return conv.case_number
