"""Erasing a person (UU PDP, HAPUS and retention): their words and addresses removed from
every table, the case skeleton kept for statistics (category, distrik, priority, reasons,
dates, outcome), with no way back to the person.

Two steps. `erase` clears everything but the contact's address and the service's last
notice to them (it still has to be sent); `finish` clears those once nothing for the contact
is waiting in the outbox. Both add the provider's copies of what they clear (WhatsApp:
Twilio message sids and `MM.../ME...` media) to `provider_copies`, in the same transaction,
for the scheduler to delete at the provider.
On SQLite the erasing transaction overwrites what it removes (`secure_delete`), and
`compact` rewrites the file and empties the write-ahead log, so the old words are not left
in free pages either.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, Text, delete, or_, select, update
from sqlalchemy import cast as sql_cast

from storage import crypto, provider_copies, subscriptions
from storage.clock import utc
from storage.inbox import of_contact
from storage.models import (
    CaseEvent,
    Contact,
    Conversation,
    InboxMessage,
    MessageLog,
    OutboxMessage,
    Referral,
    Reject,
)
from storage.outbox import HELD, OPEN, to
from storage.turns import give_turn, take_turn

INBOX = cast(Table, InboxMessage.__table__)
LOG = cast(Table, MessageLog.__table__)
OUTBOX = cast(Table, OutboxMessage.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
CONVS = cast(Table, Conversation.__table__)
CONTACTS = cast(Table, Contact.__table__)
REFERRALS = cast(Table, Referral.__table__)
REJECTS = cast(Table, Reject.__table__)
ERASED = {"erased": True}  # stays readable to SQL (storage.crypto.MARKERS)
GONE = "erased"
UNSENT = (*OPEN, HELD)  # never sent: a held message is dropped with the rest
MEDIA_PATH = re.compile(r"/Messages/(MM[0-9a-fA-F]{32})/Media/(ME[0-9a-fA-F]{32})")


def _not_erased(column: Any) -> Any:
    return sql_cast(column, Text) != '{"erased":true}'


def _twilio_media(payload: Any) -> list[str]:
    refs = [str(m.get("ref") or "") for m in (payload or {}).get("media") or []
            if isinstance(m, dict)]
    return [f"{m.group(1)}/{m.group(2)}" for r in refs if (m := MEDIA_PATH.search(r))]


def _inbound_ids(conn: Connection, *where: Any) -> list[str]:
    """Twilio's ids of inbound messages (and their media) matching `where`."""
    found: list[str] = []
    for sid, payload in conn.execute(select(INBOX.c.provider_message_id, INBOX.c.payload)
                                     .where(INBOX.c.channel == "whatsapp", *where)):
        found += [*_twilio_media(payload), sid]
    return found


def _outbound_ids(conn: Connection, *where: Any) -> list[str]:
    """Twilio's ids of sent messages matching `where`."""
    return [s for (s,) in conn.execute(select(OUTBOX.c.provider_message_id).where(
        OUTBOX.c.channel == "whatsapp", OUTBOX.c.provider_message_id.is_not(None), *where))]


def erase(conn: Connection, contact_id: int, case_ids: list[int],
          now: datetime) -> dict[str, int]:
    """Everything personal of the contact but its address and what is still to be sent to
    it, staff messages that acted on their cases included (`staff_inbox`); how many rows
    each table had cleared. Their broadcast topics end (`erased`): the consent records
    stay, as the proof of what they had agreed to, and nothing goes."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    channel, user = conn.execute(select(CONTACTS.c.channel, CONTACTS.c.provider_user_id)
                                 .where(CONTACTS.c.id == contact_id)).one()
    # the provider's copies of what is cleared below (WhatsApp only: Telegram cannot delete
    # a chat for the other side): the staff's side of the cases whatever the family's
    # channel (their words relayed to a counselor, what counselors wrote on the case), and
    # the contact's own messages
    ids = _inbound_ids(conn, INBOX.c.case_id.in_(case_ids), _not_erased(INBOX.c.payload)) + \
        _outbound_ids(conn, OUTBOX.c.case_id.in_(case_ids), _not_erased(OUTBOX.c.payload))
    if channel == "whatsapp":
        ids += _inbound_ids(conn, of_contact(f"{channel}:{user}"),
                            INBOX.c.processed_at.is_not(None)) + _outbound_ids(conn, to(user))
    provider_copies.add(conn, contact_id, "whatsapp", ids, now)
    theirs = or_(OUTBOX.c.contact_id == contact_id, OUTBOX.c.case_id.in_(case_ids))
    counts = {
        "inbox": conn.execute(update(INBOX).where(
            of_contact(f"{channel}:{user}"), INBOX.c.processed_at.is_not(None))
            .values(payload=ERASED, sender=GONE, contact_key=GONE, last_error=None)).rowcount,
        "staff_inbox": conn.execute(update(INBOX).where(
            INBOX.c.case_id.in_(case_ids), _not_erased(INBOX.c.payload))
            .values(payload=ERASED, last_error=None)).rowcount,
        "messages": conn.execute(update(LOG).where(
            LOG.c.contact_id == contact_id, or_(LOG.c.text != "", LOG.c.media.is_not(None)))
            .values(text="", media=None, original_length=0)).rowcount,
        "outbox": conn.execute(update(OUTBOX).where(
            theirs, OUTBOX.c.status.not_in(UNSENT), _not_erased(OUTBOX.c.payload))
            .values(payload=ERASED, last_error=None)).rowcount,
        "unsent": conn.execute(update(OUTBOX).where(theirs, OUTBOX.c.status.in_(UNSENT))
                               .values(payload=ERASED, status="failed", last_error=GONE,
                                       leased_by=None)).rowcount,
        "events": conn.execute(update(EVENTS).where(
            or_(EVENTS.c.contact_id == contact_id, EVENTS.c.case_id.in_(case_ids)),
            _not_erased(EVENTS.c.data)).values(data=ERASED)).rowcount,
        "referrals": conn.execute(update(REFERRALS).where(
            REFERRALS.c.case_id.in_(case_ids), REFERRALS.c.reason != "")
            .values(reason="")).rowcount,
        "conversations": conn.execute(delete(CONVS).where(
            CONVS.c.contact_id == contact_id)).rowcount,
        "subscriptions": subscriptions.end_all(conn, contact_id, "erased", now),
        "rejects": conn.execute(update(REJECTS).where(
            REJECTS.c.channel == channel,
            REJECTS.c.sender.in_(crypto.any_key(REJECTS.c.sender, [user])))
            .values(sender=None)).rowcount,
    }
    conn.execute(update(OUTBOX).where(theirs, to(user), OUTBOX.c.status.not_in(OPEN))
                 .values(recipient=GONE))
    return {k: int(v) for k, v in counts.items() if v}


def link_staff_message(conn: Connection, inbox_id: int, case_id: int) -> None:
    """A staff member's inbox row marked with the case it acted on: `erase` clears its
    payload with the family's (a note, a referral reason or a message quotes them)."""
    conn.execute(update(INBOX).where(INBOX.c.id == inbox_id).values(case_id=case_id))


def waiting(conn: Connection, contact_id: int) -> list[int]:
    """The contact's outbox rows not yet sent (or given up)."""
    return [int(i) for (i,) in conn.execute(select(OUTBOX.c.id).where(
        OUTBOX.c.contact_id == contact_id, OUTBOX.c.status.in_(OPEN)))]


def finish(conn: Connection, contact_id: int, erased_at: datetime, now: datetime) -> bool:
    """The last step, once nothing waits to be sent to the contact: the rows sent since the
    erasure cleared (their provider copies to delete), and the address removed (unless the
    person wrote again since: then it is a new conversation of theirs). False when
    something still waits."""
    if waiting(conn, contact_id):
        return False
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    channel, user, wrote = conn.execute(select(
        CONTACTS.c.channel, CONTACTS.c.provider_user_id, CONTACTS.c.last_inbound_at)
        .where(CONTACTS.c.id == contact_id)).one()
    if user.startswith(f"{GONE}:"):
        return True
    sent = [int(i) for (i,) in conn.execute(select(OUTBOX.c.id).where(
        OUTBOX.c.contact_id == contact_id, to(user), OUTBOX.c.created_at >= erased_at))]
    if channel == "whatsapp":
        provider_copies.add(conn, contact_id, "whatsapp",
                            _outbound_ids(conn, to(user), OUTBOX.c.id.in_(sent)), now)
    conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(sent)).values(
        recipient=GONE, payload=ERASED, last_error=None))
    if wrote is None or utc(wrote) <= erased_at:
        conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(
            provider_user_id=f"{GONE}:{contact_id}", status=GONE))
    return True


def compact(engine: Engine, vacuum: bool = True) -> None:
    """SQLite: rewrite the database file (`vacuum`: no free page keeps old words from
    before) and empty its write-ahead log, in the writers' line; writers wait meanwhile, so
    the scheduler's daily run only checkpoints. PostgreSQL: nothing (its VACUUM is the
    operator's, docs/operations.md)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        assert dbapi is not None
        take_turn(dbapi)
        try:
            if vacuum:
                dbapi.execute("VACUUM")
            dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            give_turn(dbapi)
    finally:
        raw.close()
