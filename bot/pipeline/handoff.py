"""Handoff: once a counselor holds a case, the family talks to a person, both ways.

The bot stays silent for that family except for safety keywords (DARURAT, BERHENTI, HAPUS,
KELUAR) and imminent danger, which it still answers, and it tells the counselor about them
at once (bot.pipeline.routing). What staff send a family that must not be written to first
waits for the family to write (bot.pipeline.held).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.pipeline import held
from bot.pipeline.apply import BOT, Batch, Conv, payloads
from flows.catalog import Catalog
from flows.hours import service_hours
from flows.types import Reply
from storage import conversations, outbox, queue
from storage.rows import Answered, EventRow, HolderAnswered, LogRow, OutboxRow, Row, write_rows


def tell_family(conn: Connection, catalog: Catalog, case_id: int, key: str, now: datetime,
                **params: Any) -> str | None:
    """A notice from the service to the family of a case, in their language; why it waits
    for them to write (bot.pipeline.held), or None when it goes now (or, to a family that
    said BERHENTI, not at all)."""
    contact_id, language = family_of(conn, case_id)
    if conversations.contact(conn, contact_id)[2] != "active":
        return None  # BERHENTI (nothing more until they write), blocked the bot, opted out:
        # not told (a review: a case the scheduler took back sent "belum sempat" to them)
    return notice(conn, contact_id, case_id, catalog.text(key, language, params), now)


def ask_family(conn: Connection, catalog: Catalog, case_id: int, key: str, asked: str,
               choices: tuple[tuple[str, str], ...], now: datetime, **params: Any) -> None:
    """A question from staff to the family of a case, with its choices numbered as the
    flow's own (`asked`: the state whose answer they are), in their language. The caller
    makes sure it need not wait (`held.holds`): their next words answer it."""
    contact_id, language = family_of(conn, case_id)
    channel, _, _ = conversations.contact(conn, contact_id)
    said = catalog.render(Reply(key, params, choices), language)
    _send(conn, contact_id, case_id, said.text,
          payloads(channel, said.text, said.choices, asked), now)


def notice(conn: Connection, contact_id: int, case_id: int, body: str, now: datetime,
           dedupe: str | None = None) -> str | None:
    """Words of the service to a family, on their channel, logged as the bot's; `dedupe`:
    the outbox key that makes it once only (default: a new one). Why it waits, or None."""
    return _send(conn, contact_id, case_id, body, [{"text": body, "choices": []}], now, dedupe)


def _send(conn: Connection, contact_id: int, case_id: int, text: str,
          parts: list[dict[str, Any]], now: datetime, dedupe: str | None = None,
          author: str = BOT, media: list[dict[str, str]] | None = None,
          prefix: str = "notice") -> str | None:
    """Staff's or the service's words to a family: the outbox rows of its parts and one
    transcript line, written by the one writer (storage.rows). Held, where the family must
    not be written to first now (bot.pipeline.held): returns why, else None."""
    channel, user, _ = conversations.contact(conn, contact_id)
    why = held.holds(conn, contact_id, case_id, now)
    status = outbox.HELD if why else "pending"
    rows: list[Row] = [OutboxRow(
        channel, user, contact_id, case_id, part,
        dedupe if dedupe and len(parts) == 1 else f"{prefix}:{uuid.uuid4().hex}",
        status, 0, now, now) for part in parts]
    rows.append(LogRow(contact_id, case_id, None, "out", author, text, False, len(text),
                       media or None, now))
    if why:
        rows.append(EventRow(case_id, contact_id, author, held.HELD_EVENT,
                             {"why": why, "messages": len(parts)}, now))
        held.mark(conn, contact_id)
    write_rows(conn, rows)
    return why


def counselor_to_family(conn: Connection, counselor_id: int, case_id: int, text: str,
                        media: list[dict[str, str]], now: datetime) -> str | None:
    """A counselor's words to the family, unchanged; the first one to go out is the first
    response. Held for the family's next message, it is that only when it goes, with the
    reply to that message (`release`): reports count the time a family heard a person
    (walk S-13: "Respon pertama" was the time a held message was written). Whatever waited
    on staff of the family's is answered (bot.casework.heldwait). Why it waits, or None when
    it goes now."""
    contact_id, _ = family_of(conn, case_id)
    payload: dict[str, Any] = {"text": text, "choices": [], "from_staff": counselor_id}
    if media:
        payload["media"] = media
    why = _send(conn, contact_id, case_id, text, [payload], now,
                author=f"counselor:{counselor_id}", media=media, prefix="staff-msg")
    if why is None:
        queue.first_response(conn, case_id, now)
    write_rows(conn, [HolderAnswered.of(case_id)])  # nothing of theirs waits on staff now,
    # also where these words wait for them to write (they go with the reply to it)
    return why


def release(batch: Batch, conv: Conv, kinds: Iterable[str] = ()) -> None:
    """The family wrote: what was held for it goes (bot.pipeline.held.release); where that
    is a counselor's own words and nobody had reached the family yet, the case's first
    response is now."""
    words = conv.case_id is not None and held.waiting(conv) and _unanswered(batch, conv)
    held.release(batch, conv, kinds)
    if words and conv.snapshot is not None and not held.waiting(conv):
        assert conv.case_id is not None
        batch.rows.append(Answered(batch.now, conv.case_id))


def _unanswered(batch: Batch, conv: Conv) -> bool:
    """A counselor's words to this family are held and no person's words have reached it."""
    assert conv.case_id is not None
    conn = batch.need()
    case = queue.by_id(conn, conv.case_id)
    return case is not None and case.first_response_at is None and \
        outbox.held_staff_words(conn, conv.case_id)


def family_of(conn: Connection, case_id: int) -> tuple[int, str]:
    """The family's contact id and the language their conversation is in."""
    case = queue.by_id(conn, case_id)
    assert case is not None
    conv = conversations.load(conn, case.contact_id)
    return case.contact_id, conv.language if conv else "id"


def out_of_hours_notice(catalog: Catalog, language: str, priority: str,
                        now: datetime, short: bool = False) -> str | None:
    """Outside service hours the family learns when to expect an answer, and 24/7 numbers
    (`short`: not them, beside the numbers the turn just gave).

    Not for P0: the emergency message already says staff answer at once, at any hour.
    """
    hours = service_hours()
    if priority == "P0" or hours.is_open(now):
        return None
    opens = hours.next_open(now).astimezone(hours.tz)
    return catalog.text("out_of_hours.short" if short else "out_of_hours", language,
                        {"next_open": opens.strftime("%d-%m-%Y %H.%M")})
