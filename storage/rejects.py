"""Inbound messages a provider was told we received, but that were not stored: the reason.

A provider that gets an error answer delivers again (Telegram "a reasonable amount of
attempts", Twilio per its retry policy), and a poll that does not move its offset fetches
the same batch forever; so what cannot be read or stored is answered as received and kept
here instead, once per provider message id. The words are never kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import Reject

T = cast(Table, Reject.__table__)


class Rejected(NamedTuple):
    provider_message_id: str | None
    sender: str | None
    reason: str


def record(conn: Connection, channel: str, rejected: list[Rejected],
           now: datetime) -> list[Rejected]:
    """Keep these rejections; the ones seen for the first time (a repeat is ignored)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(T).on_conflict_do_nothing(
        index_elements=["channel", "provider_message_id"]).returning(T.c.id)
    new = []
    for r in rejected:
        row: dict[str, Any] = {
            "channel": channel, "provider_message_id": _fit(r.provider_message_id, 120),
            "sender": _fit(r.sender, 100), "reason": r.reason[:200], "received_at": now}
        if conn.execute(insert, row).scalar_one_or_none() is not None:
            new.append(r)
    return new


def _fit(value: str | None, size: int) -> str | None:
    """An identifier as it can be stored: printable, at most `size` characters."""
    if value is None:
        return None
    kept = "".join(c for c in value if c.isprintable())
    return kept.encode("utf-8", "replace").decode("utf-8")[:size]


def count(conn: Connection, channel: str | None = None) -> int:
    query = select(func.count()).select_from(T)
    if channel is not None:
        query = query.where(T.c.channel == channel)
    return int(conn.execute(query).scalar_one())
