"""What a channel does with whatever a provider sends: keep it, or say why not, never choke.

A provider that gets an error answer sends the same thing again, and a poll that cannot
move past an update fetches it forever: one poisoned message must not stop the families
writing after it. So text is made storable at the edge (`safe`), numbers are read with
limits (`small_int`), and `store` keeps a batch in one transaction, or, when the batch fails
because of what is in it, each message on its own, recording the ones that still fail as
rejected (storage.rejects, logged once). Only a database that cannot be reached raises:
then nothing is confirmed and the provider delivers again later, as it should.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from starlette.requests import Request

from bot.pipeline import wake
from storage import inbox, rejects
from storage.db import writing
from storage.rejects import Rejected

log = logging.getLogger(__name__)
REPLACEMENT = "\ufffd"


class Unusable(Exception):
    """A message that was read but cannot be used; the reason is one short line."""

    def __init__(self, reason: str, sender: str | None = None) -> None:
        super().__init__(reason)
        self.sender = sender


class Item(NamedTuple):
    provider_message_id: str
    sender: str
    payload: dict[str, Any]


def small_int(text: str, digits: int = 9) -> int | None:
    """A plain decimal (ASCII digits, at most `digits` of them) as a number, else None:
    "²", "٣" or 5,000 digits never reach int()."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (stops reading at the limit); a
    Content-Length of more digits than any body has is too large too."""
    declared = request.headers.get("content-length", "")
    size = small_int(declared, 12)
    if (size is not None and size > limit) or (size is None and declared.isdigit()):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def safe_text(value: str) -> str:
    """Text every backend stores: a lone surrogate (half of an emoji, from a broken client)
    becomes U+FFFD, NUL characters go (PostgreSQL text cannot hold them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value.replace("\x00", "") if "\x00" in value else value


def safe(value: Any) -> Any:
    """`safe_text` for every string in a payload (keys too)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe(k): safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe(v) for v in value]
    return value


def brief(exc: BaseException) -> str:
    """Type and first line only: database errors go on to quote the SQL and its parameters
    (a family's words), which do not belong in a log."""
    first = str(exc).splitlines()[0][:300] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"


def infrastructure(exc: BaseException) -> bool:
    """The database could not be used (down, locked, disk): not the message's fault."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError |
                      sa_exc.InternalError | sa_exc.DisconnectionError | sa_exc.TimeoutError)


def store(db: Engine, channel: str, items: Sequence[Item], rejected: Sequence[Rejected],
          now: datetime) -> list[bool]:
    """Store `items` (True: new, False: stored before or rejected) and record `rejected`;
    raises only when the database cannot be used."""
    try:
        with writing(db) as conn:
            new = [_store(conn, channel, item, now) for item in items]
            first = rejects.record(conn, channel, list(rejected), now)
        _logged(channel, first)
        if any(new):
            wake.inbound()
        return new
    except Exception as exc:
        if infrastructure(exc):
            raise
    new, more = [], list(rejected)  # something in the batch: each on its own
    for item in items:
        try:
            with writing(db) as conn:
                new.append(_store(conn, channel, item, now))
        except Exception as exc:
            if infrastructure(exc):
                raise
            cause = getattr(exc, "orig", None) or exc
            more.append(Rejected(item.provider_message_id, item.sender,
                                 f"cannot be stored ({type(cause).__name__})"))
            new.append(False)
    with writing(db) as conn:
        first = rejects.record(conn, channel, more, now)
    _logged(channel, first)
    if any(new):
        wake.inbound()
    return new


def _store(conn: Any, channel: str, item: Item, now: datetime) -> bool:
    return inbox.store(conn, channel=channel, provider_message_id=item.provider_message_id,
                       sender=item.sender, payload=item.payload, now=now) is not None


def _logged(channel: str, new: list[Rejected]) -> None:
    for r in new:  # once: a repeat of the same message is not recorded again
        log.warning("%s: message %s rejected: %s", channel, r.provider_message_id, r.reason)
