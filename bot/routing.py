"""Where an inbound message goes: a counselor's command, the family flow, or the counselor.

Once a counselor holds a family's case the bot is silent for that family, except for the
safety keywords, which the flow still answers and the counselor hears about at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from bot import staff
from bot.apply import Conv, Writes
from flows.text import clean, keyword
from storage import inbox

SAFETY_COMMANDS = ("emergency", "stop", "erase")


def held_by_person(conv: Conv) -> bool:
    return conv.case_status == "claimed" and conv.assignee_id is not None


def safety_word(msg: inbox.Pending, keywords: dict[str, str]) -> str | None:
    """The safety command a message names (DARURAT, BERHENTI, HAPUS...), if any."""
    command = keyword(str(msg.payload.get("text") or ""), keywords)
    return command if command in SAFETY_COMMANDS else None


def _body(msg: inbox.Pending, number: str) -> tuple[str, list[dict[str, str]]]:
    text = clean(str(msg.payload.get("text") or ""))
    # each item says which provider holds it, so the counselor's channel can fetch it
    media = [{**m, "channel": msg.channel} for m in msg.payload.get("media") or []]
    body = staff.text("relay_in", number=number, text=text) if text else ""
    for m in media:
        body = "\n".join(x for x in (body, staff.text(
            "relay_media", number=number, kind=m.get("kind", ""), ref=m.get("ref", ""))) if x)
    return body or f"[{number}]", media


def copy_to_counselor(conn: Connection, msg: inbox.Pending, conv: Conv,
                      now: datetime) -> None:
    """Show the counselor what the family answered the bot (already logged by the flow)."""
    assert conv.case_id is not None and conv.assignee_id is not None
    body, media = _body(msg, conv.case_number or "")
    staff.send(conn, conv.assignee_id, body, now, case_id=conv.case_id, media=media or None)


def relay_to_counselor(conn: Connection, msg: inbox.Pending, conv: Conv, writes: Writes,
                       now: datetime) -> None:
    """A family's message goes to the counselor who holds the case, with its number."""
    assert conv.case_id is not None and conv.assignee_id is not None
    text = clean(str(msg.payload.get("text") or ""))
    body, media = _body(msg, conv.case_number or "")
    staff.send(conn, conv.assignee_id, body, now, case_id=conv.case_id, media=media or None)
    writes.logs.append({
        "contact_id": conv.contact.id, "case_id": conv.case_id, "inbox_id": msg.id,
        "direction": "in", "text": text[:4096], "truncated": len(text) > 4096,
        "original_length": len(text), "media": media or None, "created_at": now,
        "author": "family"})
    writes.processed.append(msg.id)


