"""Quick exit (KELUAR / EXIT): the chat is cleared where the channel lets a bot do it.

On Telegram a bot may delete its own messages and, in a private chat, the person's, while
they are under 48 hours old. The engine's `quick_exit` event puts one outbox row in the
family's line, before the neutral reply: `{"clear_chat": {"inbox_id": N}}`. Rows of one
recipient go out in order, so when the relay reaches it every earlier reply has been sent (or
has failed); the relay then reads the message ids (`to_delete`) and hands the sender
`{"delete": [ids]}`. The person's ids are those of their messages up to the KELUAR itself
(Telegram's message id, kept in the inbox payload by the channel); the bot's are the sent
outbox rows' provider ids. A WhatsApp business cannot delete messages: nothing is queued
there (the reply tells the person how to clear the chat).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from storage import inbox
from storage import outbox as outbox_rows

CLEARS = ("telegram",)  # channels whose sender can delete a chat's messages
WINDOW = timedelta(hours=48)  # Telegram deletes nothing older
CLEAR = "clear_chat"


def row(channel: str, recipient: str, contact_id: int, case_id: int | None,
        inbox_id: int) -> dict[str, Any] | None:
    """The outbox row that clears the chat of this KELUAR (inbox row `inbox_id`), or None
    where the channel cannot delete messages."""
    if channel not in CLEARS:
        return None
    return {"channel": channel, "recipient": recipient, "contact_id": contact_id,
            "case_id": case_id, "payload": {CLEAR: {"inbox_id": inbox_id}},
            "dedupe_key": f"exit:{inbox_id}"}


def to_delete(conn: Connection, row: outbox_rows.Outgoing, now: datetime) -> list[int]:
    """The chat's message ids under 48 hours old that the clearing row `row` deletes: the
    person's up to the KELUAR, and the bot's sent before this row, in order."""
    since = now - WINDOW
    upto = int(row.payload[CLEAR]["inbox_id"])
    ids: set[int] = set()
    if row.contact_id is not None:
        for payload in inbox.payloads_up_to(conn, row.contact_id, upto, since):
            if isinstance(payload.get("message_id"), int):
                ids.add(payload["message_id"])
    for provider_id in outbox_rows.sent_ids(conn, row.channel, row.recipient, row.id, since):
        _, _, number = provider_id.rpartition(":")  # "chat:message id"
        if number.isdigit():
            ids.add(int(number))
    return sorted(ids)
