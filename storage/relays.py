"""Running outbox relays, and the outbox rows each one is sending (see bot.pipeline.lease).

A relay registers itself, says it is alive now and then (`beat`), and marks the rows it
leases with its id (outbox.leased_by). Another relay that finds a holder dead hands that
holder's rows back to the line (`release_rows_of`) and forgets it.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, cast

from sqlalchemy import Connection, Table, delete, insert, select, update

from storage.models import OutboxMessage, RelayOwner

T = cast(Table, RelayOwner.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)


class Owner(NamedTuple):
    id: str
    host: str
    machine: str
    pid: int
    pid_start: str
    beat_at: datetime | None  # None: the holder of some rows is not registered (any more)


def register(conn: Connection, owner: Owner, now: datetime) -> None:
    conn.execute(insert(T).values(id=owner.id, host=owner.host[:255],
                                  machine=owner.machine[:120], pid=owner.pid,
                                  pid_start=owner.pid_start[:30], started_at=now, beat_at=now))


def beat(conn: Connection, owner_id: str, now: datetime) -> bool:
    """Say this relay is alive; False when another relay took it for dead and forgot it."""
    return conn.execute(update(T).where(T.c.id == owner_id).values(beat_at=now)).rowcount == 1


def holders(conn: Connection, but: str) -> list[Owner]:
    """The other relays that hold rows being sent (registered or not)."""
    held = select(OUTBOX.c.leased_by).where(
        OUTBOX.c.status == "sending", OUTBOX.c.leased_by.is_not(None),
        OUTBOX.c.leased_by != but).distinct()
    ids = [r[0] for r in conn.execute(held)]
    if not ids:
        return []
    known = {r.id: Owner(r.id, r.host, r.machine, r.pid, r.pid_start, r.beat_at)
             for r in conn.execute(select(T).where(T.c.id.in_(ids)))}
    return [known.get(i, Owner(i, "", "", 0, "", None)) for i in ids]


def release_rows_of(conn: Connection, owner_id: str, now: datetime) -> list[int]:
    """A dead relay's rows back in line, due now; their ids. The relay is forgotten."""
    rows = conn.execute(update(OUTBOX).where(
        OUTBOX.c.leased_by == owner_id, OUTBOX.c.status == "sending").values(
        status="pending", leased_by=None, available_at=now).returning(OUTBOX.c.id))
    ids = sorted(r[0] for r in rows)
    conn.execute(delete(T).where(T.c.id == owner_id))
    return ids


def prune(conn: Connection, silent_since: datetime) -> None:
    """Forget relays silent since then that hold nothing (stopped ones)."""
    holding = select(OUTBOX.c.leased_by).where(OUTBOX.c.status == "sending",
                                               OUTBOX.c.leased_by.is_not(None))
    conn.execute(delete(T).where(T.c.beat_at < silent_since, T.c.id.not_in(holding)))
