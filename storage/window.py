"""WhatsApp's 24-hour customer-service window: free text only within 24 h of the last inbound.

Outside the window WhatsApp accepts only approved templates (Twilio error 63016), so the relay
checks before it calls Twilio, and the case shows the message as needing a template.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, select

from storage.clock import utc
from storage.models import Contact

CONTACTS = cast(Table, Contact.__table__)
WINDOW = timedelta(hours=24)


def whatsapp_window_open(conn: Connection, contact_id: int, now: datetime) -> bool:
    """True while the contact's last inbound message is less than 24 hours old."""
    last = conn.execute(select(CONTACTS.c.last_inbound_at)
                        .where(CONTACTS.c.id == contact_id)).scalar_one_or_none()
    return last is not None and utc(now) - utc(last) < WINDOW


def contact_id_of(conn: Connection, channel: str, provider_user_id: str) -> int | None:
    """The contact this channel knows by `provider_user_id`, if it has written to us."""
    found = conn.execute(select(CONTACTS.c.id).where(
        CONTACTS.c.channel == channel,
        CONTACTS.c.provider_user_id == provider_user_id)).scalar_one_or_none()
    return None if found is None else int(found)
