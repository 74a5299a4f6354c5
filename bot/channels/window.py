"""WhatsApp's 24-hour customer-service window: free text reaches a person only while their
last message to us is less than 24 hours old; outside it WhatsApp accepts only approved
templates (Twilio error 63016). The window is anyone's who writes to the bot: a family's
(`contacts.last_inbound_at`) or a counselor's (`counselor_accounts.last_inbound_at`).

Kept apart from the sender (bot.channels.twiliosend) so that choosing how to reach a
counselor (bot.casework.staff) does not load Twilio's client into every processor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from storage import conversations, counselors
from storage.clock import utc

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)


def window_open(last_inbound: datetime | None, now: datetime) -> bool:
    """Open while `last_inbound` is less than 24 hours before `now` (None: never wrote)."""
    return last_inbound is not None and utc(now) - utc(last_inbound) < WINDOW


def open_for(conn: Connection, user: str, now: datetime) -> bool:
    """Whether free text may be sent to this WhatsApp address now."""
    wrote = [conversations.last_inbound_from(conn, CHANNEL, user),
             counselors.last_inbound_from(conn, CHANNEL, user)]
    return window_open(max((t for t in wrote if t is not None), default=None), now)
