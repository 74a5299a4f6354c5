"""The provider's copies still to delete after an erasure (`provider_copies`): added in the
erasing transaction, so none is forgotten if the process stops before the provider is
asked; removed once the provider deleted them (or says they are gone); tried again later,
waiting longer each time, while the provider cannot be reached."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, delete, func, select, update

from storage.models import ProviderCopy

T = cast(Table, ProviderCopy.__table__)
FIRST_WAIT = timedelta(minutes=15)
LONGEST_WAIT = timedelta(days=1)


def add(conn: Connection, contact_id: int, channel: str, items: list[str],
        now: datetime) -> int:
    """Copies to delete, each once (one already waiting stays as it is); how many new."""
    if not items:
        return 0
    known = set(conn.execute(select(T.c.item).where(T.c.channel == channel,
                                                    T.c.item.in_(items))).scalars())
    new = [{"contact_id": contact_id, "channel": channel, "item": item, "created_at": now,
            "next_at": now, "attempts": 0}
           for item in dict.fromkeys(items) if item not in known]
    if new:
        conn.execute(T.insert(), new)
    return len(new)


def due(conn: Connection, channel: str, now: datetime, contact_id: int | None = None,
        limit: int = 500) -> list[tuple[int, str]]:
    """(row id, item) to try now, oldest first; for `contact_id` all of theirs, whatever
    their next try (staff asked for it)."""
    where = [T.c.channel == channel]
    where.append(T.c.contact_id == contact_id if contact_id is not None else T.c.next_at <= now)
    return [(int(i), str(item)) for i, item in conn.execute(
        select(T.c.id, T.c.item).where(*where).order_by(T.c.id).limit(limit))]


def gone(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(T).where(T.c.id.in_(ids)))


def later(conn: Connection, ids: list[int], now: datetime) -> None:
    """Not deleted this time: the next try waits twice as long as the last (15 minutes
    first, a day at most)."""
    for row_id, attempts in conn.execute(select(T.c.id, T.c.attempts).where(T.c.id.in_(ids))):
        wait = min(FIRST_WAIT * 2 ** min(attempts, 10), LONGEST_WAIT)
        conn.execute(update(T).where(T.c.id == row_id)
                     .values(attempts=attempts + 1, next_at=now + wait))


def waiting(conn: Connection, contact_id: int) -> int:
    """How many of the contact's copies are still at the provider."""
    return int(conn.execute(select(func.count()).select_from(T)
                            .where(T.c.contact_id == contact_id)).scalar_one())
