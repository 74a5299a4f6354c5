"""Contacts and their conversations: load one as a snapshot, save it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from storage import bulk, crypto
from storage.cases import TRIAGE_COLUMNS, Triage, triage_from
from storage.clock import maybe_utc
from storage.jsontext import dumps
from storage.models import Case, Contact, Conversation

CONTACTS = cast(Table, Contact.__table__)
CONVS = cast(Table, Conversation.__table__)
CASES = cast(Table, Case.__table__)


class ContactRow(NamedTuple):  # rows: tuples are the cheapest to make, and immutable
    id: int
    language: str
    status: str


class ConversationRow(NamedTuple):
    id: int
    flow: str
    flow_version: int
    state: str
    language: str
    answers: dict[str, Any]
    flags: list[str]
    misses: int
    case_id: int | None
    updated_at: datetime
    case_number: str | None
    case_status: str | None = None
    assignee_id: int | None = None
    case_triage: Triage | None = None  # the case's priority, reasons, ... as stored


_CONVERSATION = (
    CONVS.c.id, CONVS.c.flow, CONVS.c.flow_version, CONVS.c.state, CONVS.c.language,
    CONVS.c.answers, CONVS.c.flags, CONVS.c.misses, CONVS.c.case_id, CONVS.c.updated_at,
    CASES.c.number, CASES.c.status, CASES.c.assignee_id, *TRIAGE_COLUMNS)
_WITH_CASE = CONVS.outerjoin(CASES, CASES.c.id == CONVS.c.case_id)


def _conversation(r: tuple[Any, ...]) -> ConversationRow:
    """A row of the columns in `_CONVERSATION`."""
    triage = None if r[10] is None else triage_from(r[13:])
    return ConversationRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
                           r[11], r[12], triage)


def touch_contact(conn: Connection, channel: str, user: str, now: datetime) -> ContactRow:
    """The contact for this channel user, created on first contact; marks the inbound time."""
    found = find_contacts(conn, [(channel, user)]).get((channel, user))
    if found is not None:  # (sealed with an older key, the upsert would not see it)
        conn.execute(update(CONTACTS).where(CONTACTS.c.id == found.id)
                     .values(last_inbound_at=now))
        return found
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CONTACTS).values(
        channel=channel, provider_user_id=user, language="id", status="active",
        last_inbound_at=now, created_at=now,
    ).on_conflict_do_update(index_elements=["channel", "provider_user_id"],
                            set_={"last_inbound_at": now})
    row = conn.execute(stmt.returning(CONTACTS.c.id, CONTACTS.c.language,
                                      CONTACTS.c.status)).one()
    return ContactRow(int(row.id), row.language, row.status)


def load(conn: Connection, contact_id: int) -> ConversationRow | None:
    row = conn.execute(select(*_CONVERSATION).select_from(_WITH_CASE)
                       .where(CONVS.c.contact_id == contact_id)).one_or_none()
    return None if row is None else _conversation(tuple(row))


def contact(conn: Connection, contact_id: int) -> tuple[str, str, str]:
    """(channel, provider user id, status) of a contact."""
    row = conn.execute(select(CONTACTS.c.channel, CONTACTS.c.provider_user_id,
                              CONTACTS.c.status).where(CONTACTS.c.id == contact_id)).one()
    return row.channel, row.provider_user_id, row.status


def last_inbound_at(conn: Connection, contact_id: int) -> datetime | None:
    """When this contact last wrote to us (None: never, or no such contact)."""
    return maybe_utc(conn.execute(select(CONTACTS.c.last_inbound_at).where(
        CONTACTS.c.id == contact_id)).scalar_one_or_none())


def last_inbound_from(conn: Connection, channel: str, provider_user_id: str) -> datetime | None:
    """When the person this channel knows by `provider_user_id` last wrote to us (None:
    never)."""
    return maybe_utc(conn.execute(select(CONTACTS.c.last_inbound_at).where(
        CONTACTS.c.channel == channel, CONTACTS.c.provider_user_id.in_(
            crypto.any_key(CONTACTS.c.provider_user_id, [provider_user_id])))
    ).scalar_one_or_none())


def start_over(conn: Connection, contact_id: int, state: str, now: datetime,
               keep: tuple[str, ...] = (), add: tuple[str, ...] = ()) -> None:
    """A case was closed: the family's next words begin afresh, from `state` (feedback).

    The old intake's answers and flags go (they stay on the closed case and its audit), so
    a new emergency alerts again and a new case gets its own reasons; but for the flags in
    `keep`, facts about the family rather than about that intake (someone else reads the
    phone); and those of `add` set (the family had a case).
    """
    row = conn.execute(select(CONVS.c.id, CONVS.c.flags).where(
        CONVS.c.contact_id == contact_id).with_for_update()).one_or_none()
    if row is None:
        return
    conn.execute(update(CONVS).where(CONVS.c.id == row.id).values(
        state=state, misses=0, answers={},
        flags=[*(f for f in row.flags if f in keep and f not in add), *add],
        updated_at=now))


def ask(conn: Connection, contact_id: int, state: str, answers: dict[str, Any],
        now: datetime) -> bool:
    """Staff put a question to the family (a referral's consent): the conversation goes to
    `state`, coming back afterwards to where it was (`_return_to`), with `answers` added.
    False where the family has no conversation."""
    row = conn.execute(select(CONVS.c.id, CONVS.c.state, CONVS.c.answers)
                       .where(CONVS.c.contact_id == contact_id)).one_or_none()
    if row is None:
        return False
    known = dict(row.answers or {})
    # at another question of the kind (the safety question, say): back to where that one
    # would have gone back to, or its own return would be lost (the family would land at
    # the start); the person holding the case has the rest
    back = known.get("_return_to") or row.state
    conn.execute(update(CONVS).where(CONVS.c.id == row.id).values(
        state=state, misses=0, answers={**known, **answers, "_return_to": back},
        updated_at=now))
    return True


def set_flag(conn: Connection, contact_id: int, flag: str, on: bool) -> None:
    """Set or clear one flag of a family's conversation (e.g. with_person). PostgreSQL: the
    row is locked before its flags are read, so a processor writing it back meanwhile is
    waited for and its flags kept (`lock`)."""
    row = conn.execute(select(CONVS.c.id, CONVS.c.flags).where(
        CONVS.c.contact_id == contact_id).with_for_update()).one_or_none()
    if row is None:
        return
    flags = [f for f in row.flags if f != flag] + ([flag] if on else [])
    conn.execute(update(CONVS).where(CONVS.c.id == row.id).values(flags=flags))


def lock(conn: Connection, contact_ids: list[int]) -> None:
    """PostgreSQL: lock these contacts' conversations, and their cases, until the
    transaction ends: the inbox processor, before it reads what it will write back.

    Staff change a conversation outside the processor's per-contact advisory lock (a
    counselor taking the case sets with_person and held_for_writer, a closing starts it
    over); without this, a processor that read the row before their commit wrote its stale
    flags over theirs. Cases first, then conversations, as staff take them (the case row,
    then its conversation), so the two never wait for each other in a circle. SQLite: the
    write transaction already excludes every other writer."""
    if conn.dialect.name != "postgresql" or not contact_ids:
        return
    theirs = CONVS.c.contact_id.in_(contact_ids)
    conn.execute(select(CASES.c.id).where(CASES.c.id.in_(
        select(CONVS.c.case_id).where(theirs))).order_by(CASES.c.id).with_for_update(
        of=CASES, key_share=True)).all()  # FOR NO KEY UPDATE: rows written meanwhile that
    conn.execute(select(CONVS.c.id).where(theirs).order_by(CONVS.c.id).with_for_update(
        of=CONVS, key_share=True)).all()  # only point at the case (outbox, events) pass


def set_status(conn: Connection, contact_id: int, status: str) -> None:
    """active, unreachable (blocked the bot), opted_out, or stopped (asked us to stop)."""
    conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(status=status))


def set_language(conn: Connection, contact_id: int, language: str) -> None:
    conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(language=language))


# -- batch forms, used by the inbox processor: a few statements per batch, not per message ---

# With the contact's language and status last: a stored row (`load_stored`) then tells
# whether anything a step depends on changed.
_LOAD_MANY = select(CONVS.c.contact_id, *_CONVERSATION, CONTACTS.c.language,
                    CONTACTS.c.status).select_from(_WITH_CASE.join(
                        CONTACTS, CONTACTS.c.id == CONVS.c.contact_id)).where(
    CONVS.c.contact_id.in_(bindparam("ids", expanding=True)))
_FIND_CONTACTS = select(CONTACTS.c.id, CONTACTS.c.provider_user_id, CONTACTS.c.language,
                        CONTACTS.c.status).where(
    CONTACTS.c.channel == bindparam("channel"),
    CONTACTS.c.provider_user_id.in_(bindparam("users", expanding=True)))


def touch_contacts(conn: Connection, users: list[tuple[str, str]],
                   now: datetime) -> dict[tuple[str, str], ContactRow]:
    """Contacts for (channel, user) pairs, creating the new ones (the inbound time of the
    others is written with the batch: `storage.rows.Seen`)."""
    found = find_contacts(conn, users)
    missing = [u for u in users if u not in found]
    if missing:
        rows = [{"channel": c, "provider_user_id": u, "language": "id", "status": "active",
                 "last_inbound_at": now, "created_at": now} for c, u in missing]
        if conn.dialect.name == "sqlite":  # the one writer (BEGIN IMMEDIATE): none added since
            bulk.insert_rows(conn, CONTACTS, rows)
        else:
            conn.execute(postgresql.insert(CONTACTS).on_conflict_do_nothing(), rows)
        found.update(find_contacts(conn, missing))
    stopped = [c.id for c in found.values() if c.status == "stopped"]
    if stopped:  # they wrote again after BERHENTI: the bot may answer again
        conn.execute(update(CONTACTS).where(CONTACTS.c.id.in_(stopped)).values(status="active"))
    return found


def find_contacts(conn: Connection,
                  users: list[tuple[str, str]]) -> dict[tuple[str, str], ContactRow]:
    """The contacts of these (channel, user) pairs that exist; writes nothing."""
    out: dict[tuple[str, str], ContactRow] = {}
    by_channel: dict[str, list[str]] = {}
    for channel, user in users:
        by_channel.setdefault(channel, []).append(user)
    for channel, ids in by_channel.items():
        sealed = crypto.any_key(CONTACTS.c.provider_user_id, ids)  # under every key
        for cid, user, language, status in bulk.select_rows(
                conn, _FIND_CONTACTS, {"channel": channel, "users": sealed}):
            out[(channel, user)] = ContactRow(int(cid), language, status)
    return out


def load_many(conn: Connection, contact_ids: list[int]) -> dict[int, ConversationRow]:
    return {r[0]: _conversation(r[1:-2])
            for r in bulk.select_rows(conn, _LOAD_MANY, {"ids": contact_ids})}


def load_stored(conn: Connection, contact_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Conversations as stored, with their case and contact (cheap to compare with an
    earlier read); `stored_row` reads one."""
    return {r[0]: r for r in bulk.select_rows(conn, _LOAD_MANY, {"ids": contact_ids},
                                              decode=False)}


# The same rows, each as one JSON array made by SQLite (`json_array`): one column to read
# instead of twenty-one. sqlite3 (3.11) releases and retakes the GIL for every column it
# reads, so a row of `_LOAD_MANY` cost about 40,000 instructions to fetch (callgrind).
_STAMPS = _LOAD_MANY.with_only_columns(CONVS.c.contact_id,
                                       func.json_array(*_LOAD_MANY.selected_columns))


def stamps(conn: Connection, contact_ids: list[int]) -> dict[int, str]:
    """SQLite: the conversations of `load_stored`, each as one text, equal to `stamp(row)`
    of its stored row. Cheap to read and compare; any difference means changed (a text
    SQLite and `stamp` spelled differently would only send the contact the slow way)."""
    return dict(bulk.select_rows(conn, _STAMPS, {"ids": contact_ids}, decode=False))


def stamp(stored: tuple[Any, ...]) -> str:
    """A row of `load_stored` as `stamps` reads it: a JSON array of its values, written as
    SQLite's json_array writes it (orjson escapes the same characters the same way)."""
    return dumps(stored)


def stored_row(conn: Connection, stored: tuple[Any, ...]) -> ConversationRow:
    return _conversation(bulk.decoded(conn, _LOAD_MANY, stored)[1:-2])


def idle_intakes(conn: Connection, since: datetime, until: datetime,
                 resting: tuple[str, ...]) -> list[int]:
    """Contacts (active, with no open case) whose conversation last moved between `since`
    and `until` and waits at a question (its state not one of `resting`): intakes left
    half-way, for the scheduler (bot.pipeline.lapse), oldest first."""
    open_case = select(CASES.c.id).where(CASES.c.id == CONVS.c.case_id,
                                         CASES.c.status != "closed").exists()
    rows = conn.execute(
        select(CONVS.c.contact_id).join(CONTACTS, CONTACTS.c.id == CONVS.c.contact_id)
        .where(CONVS.c.updated_at >= since, CONVS.c.updated_at < until,
               CONVS.c.state.not_in(resting), CONTACTS.c.status == "active", ~open_case)
        .order_by(CONVS.c.updated_at))
    return [int(r[0]) for r in rows]
