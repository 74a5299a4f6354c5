"""What a broadcast must know about its possible recipients, read in bulk: who they are,
their topic subscription, conversation, open cases and the safety events on their cases."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Connection, Table, bindparam, exists, func, null, select

from storage.models import (
    Case,
    CaseEvent,
    Contact,
    Conversation,
    PrivacyRequest,
    Subscription,
)

CONTACTS = cast(Table, Contact.__table__)
CONVS = cast(Table, Conversation.__table__)
CASES = cast(Table, Case.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
PRIVACY = cast(Table, PrivacyRequest.__table__)
SUBS = cast(Table, Subscription.__table__)
CHUNK = 500
SAFETY_KINDS = ("contact_constraint", "resumed", "quick_exit")


@dataclass
class Facts:
    contact_id: int
    channel: str
    user: str
    language: str
    status: str
    last_inbound_at: datetime | None
    subscribed: bool = False
    erased: bool = False
    state: str | None = None
    flags: list[str] = field(default_factory=list)
    distrik: str | None = None
    phone: str | None = None  # a number the family gave in the intake (to be called on)
    updated_at: datetime | None = None
    priorities: list[str] = field(default_factory=list)  # of open cases
    claimed: bool = False  # a counselor holds an open case
    constraint: bool = False  # the last of contact_constraint/resumed is a constraint
    quick_exit_at: datetime | None = None


def subscribers(conn: Connection, topic: str) -> array[int]:
    """Contacts with `topic` active, oldest subscription first (8 bytes each)."""
    return array("q", (i for (i,) in conn.execute(select(SUBS.c.contact_id).where(
        SUBS.c.topic == topic, SUBS.c.status == "active").group_by(SUBS.c.contact_id)
        .order_by(func.min(SUBS.c.id)))))


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for n in range(0, len(ids), CHUNK):
        yield list(ids[n:n + CHUNK])


def facts(conn: Connection, ids: Sequence[int], topic: str, answers: bool = True
          ) -> dict[int, Facts]:
    """`answers`: also the distrik and the number the family gave (opened from their sealed
    answers; a preview filters and dedupes by them, the check before each send does not)."""
    out: dict[int, Facts] = {}
    for part in _chunks(ids):
        _read(conn, part, topic, out, answers)
    return out


# The reads' statements, built once (`ids` an expanding parameter): the broadcast job runs
# them for each chunk of recipients while it holds the writers' turn, and building them anew
# took about 40% of that (50 recipients: 9.0-9.5 ms, then 4.9-6.5); three statements rather
# than six took another tenth off a 10-recipient chunk (2.7 -> 2.4 ms; lk3 bench --broadcast).
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
# who each one is, with their subscription, erasure and conversation: one statement (a
# conversation is unique per contact), not four
_PEOPLE = {told: select(
    CONTACTS.c.id, CONTACTS.c.channel, CONTACTS.c.provider_user_id, CONTACTS.c.language,
    CONTACTS.c.status, CONTACTS.c.last_inbound_at,
    exists().where(SUBS.c.contact_id == CONTACTS.c.id, SUBS.c.topic == bindparam("topic"),
                   SUBS.c.status == "active"),
    exists().where(PRIVACY.c.contact_id == CONTACTS.c.id, PRIVACY.c.kind == "erase",
                   PRIVACY.c.status == "done"),
    CONVS.c.state, CONVS.c.flags, CONVS.c.answers if told else null(), CONVS.c.updated_at,
).select_from(CONTACTS.outerjoin(CONVS, CONVS.c.contact_id == CONTACTS.c.id)).where(
    CONTACTS.c.id.in_(_IDS)) for told in (True, False)}
_OPEN_CASES = select(CASES.c.contact_id, CASES.c.priority, CASES.c.status, CASES.c.distrik
                     ).where(CASES.c.contact_id.in_(_IDS), CASES.c.status != "closed")
_SAFETY = select(EVENTS.c.contact_id, EVENTS.c.kind, EVENTS.c.created_at).where(
    EVENTS.c.contact_id.in_(_IDS), EVENTS.c.kind.in_(SAFETY_KINDS)).order_by(EVENTS.c.id)


def _read(conn: Connection, ids: list[int], topic: str, out: dict[int, Facts],
          answers: bool) -> None:
    these = {"ids": ids}
    for (cid, channel, user, language, status, seen, subscribed, erased, state, flags, given,
         updated) in conn.execute(_PEOPLE[answers], {**these, "topic": topic}):
        out[cid] = Facts(cid, channel, user, language, status, seen,
                         subscribed=bool(subscribed), erased=bool(erased), state=state,
                         flags=list(flags or []), distrik=(given or {}).get("distrik"),
                         phone=(given or {}).get("other_number"), updated_at=updated)
    for cid, priority, status, distrik in conn.execute(_OPEN_CASES, these):
        f = out[cid]
        f.priorities.append(priority)
        f.claimed = f.claimed or status == "claimed"
        f.distrik = f.distrik or distrik
    _safety_events(conn, these, out)


def _safety_events(conn: Connection, these: dict[str, Any], out: dict[int, Facts]) -> None:
    rows: list[Any] = list(conn.execute(_SAFETY, these))
    for cid, kind, at in rows:
        f = out[cid]
        if kind == "quick_exit":
            f.quick_exit_at = at
        else:
            f.constraint = kind == "contact_constraint"
