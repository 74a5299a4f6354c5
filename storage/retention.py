"""What the retention rules would remove at a moment: the same queries for the dry run and
the real one, so their counts agree; what was removed no longer matches, so a second run
finds nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, Text, and_, exists, false, func, or_, select, update
from sqlalchemy import cast as sql_cast

from storage import crypto
from storage.clock import utc
from storage.models import (
    Case,
    CaseHold,
    ConsentRecord,
    Contact,
    CounselorAccount,
    InboxMessage,
    PrivacyRequest,
    RetentionRun,
    Subscription,
)

CONTACTS = cast(Table, Contact.__table__)
CASES = cast(Table, Case.__table__)
HOLDS = cast(Table, CaseHold.__table__)
CONSENTS = cast(Table, ConsentRecord.__table__)
ACCOUNTS = cast(Table, CounselorAccount.__table__)
INBOX = cast(Table, InboxMessage.__table__)
REQUESTS = cast(Table, PrivacyRequest.__table__)
RUNS = cast(Table, RetentionRun.__table__)
SUBS = cast(Table, Subscription.__table__)
PURGED = crypto.PURGED  # removal markers stay readable to SQL (storage.crypto.MARKERS)


def _staff(conn: Connection) -> Any:
    """Contacts that are also counselors' accounts. Each column seals an address its own
    way (storage.crypto), so SQL cannot compare the two: the few accounts are read here and
    looked up among the contacts."""
    users: dict[str, list[str]] = {}
    for channel, user in conn.execute(select(ACCOUNTS.c.channel, ACCOUNTS.c.provider_user_id)):
        users.setdefault(channel, []).append(user)
    return or_(false(), *(and_(CONTACTS.c.channel == channel, CONTACTS.c.provider_user_id.in_(
        crypto.any_key(CONTACTS.c.provider_user_id, ids))) for channel, ids in users.items()))


def _people(conn: Connection, since: datetime) -> list[Any]:
    """Contacts not erased, not staff, quiet since before `since`, with no request open."""
    return [
        CONTACTS.c.status != "erased",
        or_(CONTACTS.c.last_inbound_at.is_(None), CONTACTS.c.last_inbound_at < since),
        ~_staff(conn),
        ~exists().where(REQUESTS.c.contact_id == CONTACTS.c.id,
                        REQUESTS.c.status.in_(("open", "deferred", "erasing"))),
    ]


def _not_subscribed() -> Any:
    """A subscriber to information broadcasts asked to be kept to be written to: the rules
    for people without a case pass them over, and their period runs again from the message
    that ends the subscription (BERHENTI INFO). A closed case is anonymised all the same."""
    return ~exists().where(SUBS.c.contact_id == CONTACTS.c.id, SUBS.c.status == "active")


def _no_case() -> Any:
    return ~exists().where(CASES.c.contact_id == CONTACTS.c.id)


def _refused() -> Any:
    later = CONSENTS.alias("later")
    return exists().where(CONSENTS.c.contact_id == CONTACTS.c.id,
                          CONSENTS.c.choice == "refuse",
                          ~exists().where(later.c.contact_id == CONSENTS.c.contact_id,
                                          later.c.id > CONSENTS.c.id))


def refused(conn: Connection, since: datetime) -> list[int]:
    """Contacts whose last word on consent was a refusal, with no case."""
    return _ids(conn, [*_people(conn, since), _no_case(), _refused(), _not_subscribed()])


def no_case(conn: Connection, since: datetime, skip: list[int]) -> list[int]:
    """Contacts whose conversation never became a case (the refused ones aside)."""
    return [i for i in _ids(conn, [*_people(conn, since), _no_case(), _not_subscribed()])
            if i not in skip]


def closed_cases(conn: Connection, since: datetime) -> list[int]:
    """Contacts whose every case is closed since before `since`, none on a legal hold."""
    open_or_recent = exists().where(CASES.c.contact_id == CONTACTS.c.id, or_(
        CASES.c.status != "closed", CASES.c.closed_at.is_(None), CASES.c.closed_at >= since))
    held = exists().where(CASES.c.contact_id == CONTACTS.c.id, exists().where(
        HOLDS.c.case_id == CASES.c.id, HOLDS.c.released_at.is_(None)))
    has_case = exists().where(CASES.c.contact_id == CONTACTS.c.id)
    return _ids(conn, [*_people(conn, since), has_case, ~open_or_recent, ~held])


def _ids(conn: Connection, where: list[Any]) -> list[int]:
    return [int(i) for (i,) in conn.execute(select(CONTACTS.c.id).where(and_(*where))
                                            .order_by(CONTACTS.c.id))]


def _old_inbox(since: datetime) -> Any:
    return and_(INBOX.c.processed_at.is_not(None), INBOX.c.received_at < since,
                sql_cast(INBOX.c.payload, Text) != PURGED,
                sql_cast(INBOX.c.payload, Text) != crypto.ERASED)


def old_inbox(conn: Connection, since: datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(INBOX)
                            .where(_old_inbox(since))).scalar_one())


def purge_inbox(conn: Connection, since: datetime) -> int:
    """Raw payloads of processed messages received before `since` replaced by a marker."""
    return int(conn.execute(update(INBOX).where(_old_inbox(since))
                            .values(payload={"purged": True}, last_error=None)).rowcount)


def case_ids(conn: Connection, contact_id: int) -> list[int]:
    return [int(i) for (i,) in conn.execute(select(CASES.c.id).where(
        CASES.c.contact_id == contact_id))]


def last_run(conn: Connection) -> datetime | None:
    value = conn.execute(select(func.max(RUNS.c.ran_at))).scalar_one()
    return None if value is None else utc(value)


def record_run(conn: Connection, now: datetime, actor: str, counts: dict[str, int]) -> None:
    conn.execute(RUNS.insert().values(ran_at=now, actor=actor, counts=counts))
