"""What staff send a family that must not be written to first waits for the family to write.

A family may tell the service not to write first: "not safe to chat now" (the `paused`
flag), someone else reads the phone (`phone_watched`), a contact constraint
`wait_for_writer` on the case; or they left with KELUAR and have not written since. Where
their last message itself paused because it is not safe now ("nanti dulu, mama tiri ada
lihat", "not safe to chat": `unsafe_now`), nothing goes, not even as a reply, until they
write again; in a case a person holds, that message tells the counselor so (`unsafe_now`
below; walk U-2: "Baik ade, kaka tunggu ya" reached a phone her stepmother was watching). What a
counselor's action sends them (taking, transferring, releasing or closing the case, the
rating question, the counselor's own words: bot.pipeline.handoff) then goes out only as a
reply: within `writer_reply_minutes` (flows/service.yaml) of the family's last message,
never after a KELUAR. Otherwise it is an outbox row in status HELD, written by the one
writer like every row, and the conversation is flagged HELD_FOR_WRITER (the database is
the only state processes share). The family's next message puts those rows back in line
(`release`), older than the reply to it, so they arrive first: she learns a person took
over as soon as she writes (Never 7). Not when that message is KELUAR (the chat is being
hidden) or BERHENTI (nothing more is sent until they write again): the rows wait on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.casework import staff
from bot.pipeline.apply import Batch, Conv, event_row
from flows.actions import HELD_FOR_WRITER, PHONE_WATCHED, UNSAFE_NOW
from flows.hearing import said_unsafe
from flows.hours import service_hours
from flows.loader import Bundle
from storage import cases, conversations, outbox
from storage.rows import Released

KEEP = ("quick_exit", "stop")  # the family's words that leave their held messages held
HELD_EVENT, RELEASED_EVENT = "held_for_writer", "held_released"


def constraint(conv: conversations.ConversationRow | None,
               events: list[dict[str, Any]]) -> str | None:
    """"paused" or "contact_constraint" while the family said the service may write only
    after they write (`events`: their case's), else None."""
    if conv is not None and ("paused" in conv.flags or UNSAFE_NOW in conv.flags):
        return "paused"
    if conv is not None and PHONE_WATCHED in conv.flags:
        return "contact_constraint"  # someone else reads the phone: only after they write,
        # whatever a pause lifted since (flows.actions.resumed)
    said = [e for e in events if e["kind"] in ("contact_constraint", "resumed")]
    if said and said[-1]["kind"] == "contact_constraint":
        return "contact_constraint"
    return None


def left(conn: Connection, contact_id: int, events: list[dict[str, Any]]) -> bool:
    """They left with KELUAR and have not written since: someone may be looking."""
    at = max((e["created_at"] for e in events if e["kind"] == "quick_exit"), default=None)
    if at is None:
        return False
    wrote = conversations.last_inbound_at(conn, contact_id)
    return wrote is None or wrote <= at


def why_not(conn: Connection, contact_id: int, conv: conversations.ConversationRow | None,
            events: list[dict[str, Any]]) -> str | None:
    """Why the service must not write to this family first now (the P0 family update, a
    privacy notice), or None if it may."""
    _, _, status = conversations.contact(conn, contact_id)
    if status != "active":
        return status  # stopped (BERHENTI), unreachable (blocked the bot), opted_out
    if (why := constraint(conv, events)) is not None:
        return why
    return "quick_exit" if left(conn, contact_id, events) else None


def holds(conn: Connection, contact_id: int, case_id: int | None,
          now: datetime) -> str | None:
    """Why what staff send this family now must wait for them to write: "queued" (earlier
    messages wait: order is kept), "quick_exit", "paused", "contact_constraint"; or None."""
    conv = conversations.load(conn, contact_id)
    if conv is None:  # no conversation (erased): nothing could let it go
        return None
    if HELD_FOR_WRITER in conv.flags:
        return "queued"
    events = cases.events_of(conn, case_id) if case_id is not None else []
    if left(conn, contact_id, events):
        return "quick_exit"
    if UNSAFE_NOW in conv.flags:
        return UNSAFE_NOW  # her last words paused: not even as a reply to them
    why = constraint(conv, events)
    if why is None:
        return None
    wrote = conversations.last_inbound_at(conn, contact_id)
    replying = wrote is not None and now - wrote < service_hours().writer_reply
    return None if replying else why


def mark(conn: Connection, contact_id: int) -> None:
    """The family's conversation says messages wait for them (the processor reads it)."""
    conversations.set_flag(conn, contact_id, HELD_FOR_WRITER, True)


def waiting(conv: Conv) -> bool:
    return conv.snapshot is not None and HELD_FOR_WRITER in conv.snapshot.flags


def release(batch: Batch, conv: Conv, kinds: Iterable[str] = ()) -> None:
    """The family wrote (`kinds`: the events of the turn that answers it): their held
    messages back in line, due now and before the reply (older rows), the flag cleared and
    the holder told; after KELUAR or BERHENTI they stay held, flag kept."""
    snap = conv.snapshot
    if snap is None:
        return
    if any(k in KEEP for k in kinds):
        if HELD_FOR_WRITER not in snap.flags:
            conv.snapshot, conv.changed = replace(
                snap, flags=(*snap.flags, HELD_FOR_WRITER)), True
        return
    conn, now = batch.need(), batch.now
    ids = outbox.held_ids(conn, conv.contact.id)
    batch.rows += [Released("pending", now, now, i) for i in ids]
    conv.snapshot = replace(snap, flags=tuple(f for f in snap.flags if f != HELD_FOR_WRITER))
    conv.changed = True
    if not ids:
        return
    batch.rows.append(event_row(conv, RELEASED_EVENT, {"messages": len(ids)}, now))
    if conv.assignee_id is not None and conv.case_status == "claimed":
        staff.say(conn, conv.assignee_id, "held_released", now, case_id=conv.case_id,
                  number=conv.case_number or "", count=len(ids))


def unsafe_now(batch: Batch, conv: Conv, text: str, bundle: Bundle) -> None:
    """A family writes to the counselor who holds their case (the bot does not answer): a
    pause because it is not safe now ("sa mo berhenti dulu, mama tiri ada lihat") holds
    what staff send until they write again (UNSAFE_NOW), with no reply window, and the
    counselor is told why (the case records it); any other message lifts it. The bot says
    nothing to the phone someone looks at."""
    snap = conv.snapshot
    if snap is None:
        return
    unsafe = said_unsafe(bundle, text)
    flags = (*(f for f in snap.flags if f != UNSAFE_NOW), *((UNSAFE_NOW,) if unsafe else ()))
    if flags != snap.flags:
        conv.snapshot, conv.changed = replace(snap, flags=flags), True
    if unsafe:
        batch.rows.append(event_row(conv, "paused_by_family",
                                    {"unsafe": True}, batch.now))
        told_unsafe(batch, conv)


def told_unsafe(batch: Batch, conv: Conv) -> None:
    """The counselor who holds the case hears that the family paused, not safe now, and that
    their next messages wait for the family to write (in Indonesian, their language)."""
    if conv.assignee_id is not None and conv.case_id is not None:
        staff.say(batch.need(), conv.assignee_id, "family_unsafe_now", batch.now,
                  case_id=conv.case_id, number=conv.case_number or "")


def reason(why: str, language: str = staff.STAFF_LANGUAGE) -> str:
    """Why messages wait, in words for staff."""
    return staff.text(f"held_why.{why}", language)


def line(conn: Connection, case_id: int, contact_id: int, now: datetime,
         language: str = staff.STAFF_LANGUAGE, closed: bool = False) -> str | None:
    """For the counselor's view of a case: how many messages wait for the family to write,
    or (an open case) that the next would (the constraint holds) or would go only as a
    reply (the family wrote a moment ago); None when nothing limits them."""
    count = outbox.held_count(conn, case_id)
    if count:
        return staff.text("held_line", language, count=count)
    if closed:
        return None
    why = holds(conn, contact_id, case_id, now)
    if why is not None:
        return staff.text("held_would", language, why=reason(why, language))
    if constraint(conversations.load(conn, contact_id), cases.events_of(conn, case_id)):
        return staff.text("held_reply_line", language, minutes=minutes())
    return None


def minutes() -> int:
    """`writer_reply_minutes`: how long after the family wrote staff's words are a reply."""
    return int(service_hours().writer_reply.total_seconds() // 60)
