"""What the web console reads that the chat and the CLI do not: plain queries (bot.console)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from storage.cases import LOG
from storage.counselors import COUNSELORS


def messages(conn: Connection, contact_id: int) -> list[Any]:
    """Every message with this contact, oldest first, with its id: id, direction, author,
    text, truncated, original_length, media, created_at."""
    return list(conn.execute(
        select(LOG.c.id, LOG.c.direction, LOG.c.author, LOG.c.text, LOG.c.truncated,
               LOG.c.original_length, LOG.c.media, LOG.c.created_at)
        .where(LOG.c.contact_id == contact_id).order_by(LOG.c.created_at, LOG.c.id)).all())


def last_message_id(conn: Connection, contact_id: int) -> int:
    """The newest message id with this contact (0: none)."""
    return int(conn.execute(select(LOG.c.id).where(LOG.c.contact_id == contact_id)
                            .order_by(LOG.c.id.desc()).limit(1)).scalar() or 0)


def staff_names(conn: Connection) -> list[tuple[int, str, str]]:
    """Counselors not removed: (id, name, role), by name."""
    rows = conn.execute(select(COUNSELORS.c.id, COUNSELORS.c.name, COUNSELORS.c.role)
                        .where(COUNSELORS.c.removed_at.is_(None)).order_by(COUNSELORS.c.name))
    return [(int(r.id), str(r.name), str(r.role)) for r in rows]
