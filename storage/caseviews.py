"""What staff read about cases: plain queries for `lk3 cases list|show` and the chat's history.

Rows are handed back as the database gives them (attribute access by column name); times as
stored (SQLite: naive UTC), for the reader to show in WIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from storage import queue
from storage.cases import CASES, LOG
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
