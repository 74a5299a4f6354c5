"""What staff read about cases: plain queries for `lk3 cases list|show` and the chat's history.

Rows are handed back as the database gives them (attribute access by column name); times as
stored (SQLite: naive UTC), for the reader to show in WIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, select

from storage import queue
from storage.cases import CASES, LOG
from storage.clock import maybe_utc
from storage.conversations import CONVS
from storage.counselors import COUNSELORS

# A case as `lk3 cases` shows it: its own columns and the name of whoever holds it.
COLUMNS = (CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.priority, CASES.c.reasons,
           CASES.c.category, CASES.c.distrik, CASES.c.channel, CASES.c.legal_basis,
           CASES.c.contact_id, CASES.c.created_at, CASES.c.claimed_at,
           CASES.c.first_response_at, CASES.c.closed_at, CASES.c.outcome,
           CASES.c.satisfaction, CASES.c.previous_case_id, COUNSELORS.c.name.label("assignee"),
           CONVS.c.language)  # the family's language (a walk-through's counselor answered
# an English-speaking father in Indonesian)
_CASES = select(*COLUMNS).select_from(
    CASES.outerjoin(COUNSELORS, COUNSELORS.c.id == CASES.c.assignee_id)
    .outerjoin(CONVS, CONVS.c.contact_id == CASES.c.contact_id))


def case_lines(conn: Connection, statuses: Sequence[str], limit: int | None) -> list[Any]:
    """Cases of these statuses with their holder's name, in the queue's order
    (`storage.queue.listing`), at most `limit` (None: all)."""
    return queue.listing(conn, _CASES, statuses, limit)


def case_line(conn: Connection, number: str) -> Any | None:
    """The case with this number (`LK3-2026-00042`, any case, spaces around ignored)."""
    return conn.execute(_CASES.where(CASES.c.number == number.strip().upper())).one_or_none()


def transcript(conn: Connection, contact_id: int) -> list[Any]:
    """Every message with this contact, in and out, oldest first: direction, author, text,
    truncated, original_length, media, created_at."""
    return list(conn.execute(
        select(LOG.c.direction, LOG.c.author, LOG.c.text, LOG.c.truncated,
               LOG.c.original_length, LOG.c.media, LOG.c.created_at)
        .where(LOG.c.contact_id == contact_id).order_by(LOG.c.created_at, LOG.c.id)).all())


_MESSAGE = (LOG.c.id, LOG.c.direction, LOG.c.author, LOG.c.text, LOG.c.media,
            LOG.c.created_at)  # a message as the counselor's history reads it


def last_messages(conn: Connection, contact_id: int, limit: int) -> list[Any]:
    """The last `limit` messages with this contact, oldest first: id, direction, author,
    text, media, created_at."""
    rows = conn.execute(select(*_MESSAGE).where(LOG.c.contact_id == contact_id)
                        .order_by(LOG.c.id.desc()).limit(limit)).all()
    return list(rows[::-1])


def family_before(conn: Connection, contact_id: int, before_id: int, limit: int) -> list[Any]:
    """The family's own messages (inbound) before the message `before_id`, the first
    `limit` of them, oldest first, in the shape of `last_messages`: the story told at the
    start, which a long intake pushes out of the last messages."""
    return list(conn.execute(select(*_MESSAGE)
                             .where(LOG.c.contact_id == contact_id, LOG.c.direction == "in",
                                    LOG.c.id < before_id)
                             .order_by(LOG.c.id).limit(limit)).all())


class Earlier(NamedTuple):
    """A family's case from before the one staff read: enough to name it, never its story."""

    id: int
    number: str
    status: str
    closed_at: datetime | None
    assignee_id: int | None  # who held it last (None: nobody, or removed since)
    assignee: str | None
    distrik: str | None = None  # where the family lived then (a list code)


_EARLIER = select(CASES.c.id, CASES.c.number, CASES.c.status, CASES.c.closed_at,
                  COUNSELORS.c.id, COUNSELORS.c.name, CASES.c.distrik).select_from(
    CASES.outerjoin(COUNSELORS, and_(COUNSELORS.c.id == CASES.c.assignee_id,
                                     COUNSELORS.c.removed_at.is_(None))))


def _earlier(rows: Any) -> list[Earlier]:
    return [Earlier(int(r[0]), r[1], r[2], maybe_utc(r[3]), r[4], r[5], r[6]) for r in rows]


def earlier_cases(conn: Connection, contact_id: int, case_id: int) -> list[Earlier]:
    """The contact's cases opened before `case_id`, newest first (a family back after a
    closed case: walk S-7)."""
    return _earlier(conn.execute(_EARLIER.where(
        CASES.c.contact_id == contact_id, CASES.c.id < case_id).order_by(CASES.c.id.desc())))


def own_case(conn: Connection, contact_id: int, number: str) -> Earlier | None:
    """The contact's own case a family wrote the number of: the whole number, or its serial
    ("no kasus 00001": the newest of theirs ending so); None where no case of theirs has it
    (another contact's case is never looked at: Never 5)."""
    mine = _EARLIER.where(CASES.c.contact_id == contact_id)
    if number.upper().startswith("LK3-"):
        found = conn.execute(mine.where(CASES.c.number == number.upper())).first()
    else:
        found = conn.execute(mine.where(CASES.c.number.like(f"LK3-%-{int(number):05d}"))
                             .order_by(CASES.c.id.desc())).first()
    return None if found is None else _earlier([found])[0]
