"""Apply one engine turn inside the processor's transaction: the host side of a step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from flows.engine import Engine as FlowEngine
from flows.text import clean
from flows.types import Event, Turn
from storage import cases, conversations, inbox, outbox

MAX_LOG_CHARS = 4096
BOT = "bot"


def _log_inbound(msg: inbox.Pending, contact_id: int, case_id: int | None,
                 now: datetime) -> dict[str, Any]:
    text = clean(str(msg.payload.get("text") or ""))
    return {
        "contact_id": contact_id, "case_id": case_id, "inbox_id": msg.id, "direction": "in",
        "text": text[:MAX_LOG_CHARS], "truncated": len(text) > MAX_LOG_CHARS,
        "original_length": len(text), "media": msg.payload.get("media") or None,
        "created_at": now,
    }


def _apply_events(conn: Connection, msg: inbox.Pending, contact_id: int, case_id: int | None,
                  events: tuple[Event, ...], now: datetime) -> int | None:
    """Consents, the case, and an audit row for every event; returns the case id."""
    audit = []
    for ev in events:
        if ev.kind == "consent":
            cases.record_consent(conn, contact_id=contact_id, data=ev.data, now=now)
        elif ev.kind == "case_upsert":
            if case_id is None:
                case_id, _ = cases.create(conn, contact_id=contact_id, channel=msg.channel,
                                          data=ev.data, now=now)
                audit.append(("case_opened", ev.data))
                continue
            cases.raise_to(conn, case_id, ev.data, now)
        audit.append((ev.kind, ev.data))
    cases.add_events(conn, [{"case_id": case_id, "contact_id": contact_id, "actor": BOT,
                             "kind": kind, "data": data, "created_at": now}
                            for kind, data in audit])
    return case_id


def apply_turn(conn: Connection, flows: FlowEngine, msg: inbox.Pending,
               contact: conversations.ContactRow, conv: conversations.ConversationRow | None,
               turn: Turn, now: datetime) -> None:
    """Write the turn: events, case, conversation, message log and outbox rows, together."""
    old_case = conv.case_id if conv else None
    case_id = _apply_events(conn, msg, contact.id, old_case, turn.events, now)
    number = conv.case_number if conv and case_id == old_case else None
    if case_id is not None and number is None:
        number = cases.number_of(conn, case_id)
    snap = turn.snapshot
    values: dict[str, Any] = {
        "flow": snap.flow, "flow_version": snap.flow_version, "state": snap.state,
        "language": snap.language, "answers": snap.answers, "flags": list(snap.flags),
        "misses": snap.misses,
    }
    if case_id != old_case:
        values["case_id"] = case_id
    conversations.save(conn, contact.id, conv.id if conv else None, values, now)
    if snap.language != contact.language:
        conversations.set_language(conn, contact.id, snap.language)
    extra = {"case_number": number or ""}
    rendered = [flows.bundle.catalog.render(r, snap.language, extra) for r in turn.replies]
    _send(conn, msg, contact.id, case_id, rendered, now)


def _send(conn: Connection, msg: inbox.Pending, contact_id: int, case_id: int | None,
          rendered: list[Any], now: datetime) -> None:
    logs = [_log_inbound(msg, contact_id, case_id, now)]
    rows = []
    for n, r in enumerate(rendered):
        payload = {"text": r.text, "choices": [
            {"number": c.number, "value": c.value, "label": c.label} for c in r.choices]}
        rows.append({"channel": msg.channel, "recipient": msg.sender, "contact_id": contact_id,
                     "case_id": case_id, "payload": payload, "dedupe_key": f"in:{msg.id}:{n}"})
        logs.append({"contact_id": contact_id, "case_id": case_id, "inbox_id": msg.id,
                     "direction": "out", "text": r.text, "truncated": False,
                     "original_length": len(r.text), "media": None, "created_at": now})
    cases.log_messages(conn, logs)
    outbox.enqueue(conn, rows, now)


def apologise(conn: Connection, flows: FlowEngine, msg: inbox.Pending, now: datetime) -> None:
    """A message we could not handle after several tries: say so kindly, keep the message."""
    contact = conversations.touch_contact(conn, msg.channel, msg.sender, now)
    conv = conversations.load(conn, contact.id)
    lang = conv.language if conv else contact.language
    text = flows.bundle.catalog.text("internal_error", lang)
    rendered = [flows.bundle.catalog.render_text(text)]
    _send(conn, msg, contact.id, conv.case_id if conv else None, rendered, now)
    cases.add_events(conn, [{"case_id": conv.case_id if conv else None,
                             "contact_id": contact.id, "actor": BOT,
                             "kind": "message_set_aside", "data": {"inbox_id": msg.id},
                             "created_at": now}])
