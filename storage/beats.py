"""Inbox processors that say they are alive, and shards whose messages wait with nobody.

Each processor process beats now and then (`beat`): its id, the shard of the contacts it
takes (1..shards on SQLite; 0, any contact, on PostgreSQL) and the time. `stalled` names the
shards with a pending message older than a limit and no beat since a limit: messages nobody
will answer, which `/healthz` reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from storage.models import InboxMessage, ProcessorBeat

T = cast(Table, ProcessorBeat.__table__)
INBOX = cast(Table, InboxMessage.__table__)
ANY = 0  # a processor that takes any contact (PostgreSQL)


def beat(conn: Connection, owner: str, shard: int, shards: int, host: str, pid: int,
         now: datetime) -> None:
    """Say this processor is alive (registering it the first time)."""
    if conn.execute(update(T).where(T.c.id == owner).values(beat_at=now)).rowcount == 0:
        conn.execute(insert(T).values(id=owner, shard=shard, shards=shards, host=host[:255],
                                      pid=pid, beat_at=now))


def forget(conn: Connection, owner: str) -> None:
    """A processor that stopped cleanly."""
    conn.execute(delete(T).where(T.c.id == owner))


def prune(conn: Connection, before: datetime) -> None:
    """Registrations that stopped beating long ago."""
    conn.execute(delete(T).where(T.c.beat_at < before))


def live(conn: Connection, since: datetime) -> list[tuple[int, int, int]]:
    """(shard, shards, pid) of every processor that beat since `since`."""
    return [(r.shard, r.shards, r.pid) for r in conn.execute(
        select(T.c.shard, T.c.shards, T.c.pid).where(T.c.beat_at >= since))]


def oldest_pending(conn: Connection, shards: int) -> dict[int, datetime]:
    """The oldest pending message's arrival per shard (1..shards; SQLite's `lk3_shard`
    splits the contacts as the processors do), or for shard ANY on PostgreSQL."""
    pending = INBOX.c.processed_at.is_(None)
    if conn.dialect.name == "postgresql" or shards <= 1:
        oldest = conn.execute(select(func.min(INBOX.c.received_at)).where(pending)).scalar()
        key = ANY if conn.dialect.name == "postgresql" else 1
        return {} if oldest is None else {key: oldest}
    shard = func.lk3_shard(INBOX.c.contact_key, shards) + 1
    rows = conn.execute(select(shard, func.min(INBOX.c.received_at)).where(pending)
                        .group_by(shard))
    return {int(k): v for k, v in rows}
