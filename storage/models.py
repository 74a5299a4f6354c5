"""The tables. Times are stored in UTC; read them with `storage.clock.utc`.

Personal fields (words, answers, notes, addresses) are sealed by their column type
(`storage.crypto`): `Sealed`, `SealedJSON`, `Address`, each named "table.column".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.crypto import Address, Sealed, SealedJSON

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid
Time = DateTime(timezone=True)


ANSWER = {"answer": True}  # a column that keeps an answer of the intake (storage.cases)
FAMILY_WAITING = "status = 'claimed' AND family_waiting_since IS NOT NULL"

OPEN_ROWS = text("status IN ('pending', 'sending')")  # outbox rows not yet done

class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Contact(Base):
    """A person as one channel knows them (a family or, later, a counselor)."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "provider_user_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_user_id: Mapped[str] = mapped_column(
        Address("contacts.provider_user_id", String(100)))
    language: Mapped[str] = mapped_column(String(5), default="id")
    status: Mapped[str] = mapped_column(String(20), default="active")
    last_inbound_at: Mapped[datetime | None] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(Time)


class Conversation(Base):
    """Where a contact is in a flow, and what the flow has learned."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(50))
    flow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(5))
    # read back by the processor that wrote them: it remembers what it sealed (storage.crypto)
    answers: Mapped[dict[str, Any]] = mapped_column(
        SealedJSON("conversations.answers", JSON(), remember=True))
    flags: Mapped[list[str]] = mapped_column(
        SealedJSON("conversations.flags", JSON(), remember=True))
    misses: Mapped[int] = mapped_column(Integer, default=0)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(Time)


class InboxMessage(Base):
    """A raw inbound message as received, unique per channel and provider message id."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        Index("ix_inbox_pending", "id", postgresql_where=text("processed_at IS NULL"),
              sqlite_where=text("processed_at IS NULL")),
        Index("ix_inbox_contact_pending", "contact_key", "id",
              postgresql_where=text("processed_at IS NULL"),
              sqlite_where=text("processed_at IS NULL")),
        Index("ix_inbox_case", "case_id", postgresql_where=text("case_id IS NOT NULL"),
              sqlite_where=text("case_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(120))
    contact_key: Mapped[str] = mapped_column(Address("inbox.contact_key", String(130)))
    sender: Mapped[str] = mapped_column(Address("inbox.sender", String(100)))
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("inbox.payload", JSON()))
    received_at: Mapped[datetime] = mapped_column(Time)
    processed_at: Mapped[datetime | None] = mapped_column(Time)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A staff member's message: the case it acted on (their active case), where an erasure
    # finds their words about a family. No foreign key (migration 0015 adds it in place).
    case_id: Mapped[int | None] = mapped_column(Id)


class MessageLog(Base):
    """Every message in and out, as the family and the counselor will read it."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    # Not indexed: nothing reads the log by case (a case's messages are its contact's), and
    # cases are never deleted; every message would pay for the index (migration 0005).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    # Who wrote it: "family", "bot", or "counselor:<id>" (NULL in rows from before 0003).
    author: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Sealed("messages.text", Text()))
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    original_length: Mapped[int] = mapped_column(Integer, default=0)
    media: Mapped[list[dict[str, str]] | None] = mapped_column(
        SealedJSON("messages.media", JSON()))
    created_at: Mapped[datetime] = mapped_column(Time)


class OutboxMessage(Base):
    """A reply committed with the state change that caused it, waiting for the relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at"),
        Index("ix_outbox_recipient", "channel", "recipient", "id"),
        # the relay's "oldest open row first, per recipient": open rows only, never the
        # recipient's whole history (a counselor's 100,000 earlier alerts)
        Index("ix_outbox_open_recipient", "channel", "recipient", "id",
              sqlite_where=OPEN_ROWS, postgresql_where=OPEN_ROWS),
        # Delivery callbacks look a sent message up by the provider's id; a reply has none
        # until it is sent, so only sent rows are indexed (migration 0005).
        Index("ix_outbox_provider_message_id", "provider_message_id",
              postgresql_where=text("provider_message_id IS NOT NULL"),
              sqlite_where=text("provider_message_id IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(Address("outbox.recipient", String(100)))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(SealedJSON("outbox.payload", JSON()))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # ... needs_template
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(Time)
    sent_at: Mapped[datetime | None] = mapped_column(Time)
    provider_message_id: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(20))
    # What the provider reported after accepting it: queued, sent, delivered, read,
    # failed or undelivered (Twilio status callbacks); Telegram: delivered on acceptance.
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_updated_at: Mapped[datetime | None] = mapped_column(Time)
    # The relay process (relay_owners.id) holding a row it is sending; NULL otherwise, and in
    # rows leased before 0006 (those fall back to the time lease in available_at).
    leased_by: Mapped[str | None] = mapped_column(String(40))


class ProcessorBeat(Base):
    """An inbox processor that says it is alive: for which shard, and when it last said so
    (bot.pipeline.beats). A shard with old pending messages and no recent beat is stalled."""

    __tablename__ = "processor_beats"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer)  # 1..shards; 0: any contact (PostgreSQL)
    shards: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    beat_at: Mapped[datetime] = mapped_column(Time)


class RelayOwner(Base):
    """A running outbox relay: who it is, and when it last said it is alive (bot.pipeline.lease)."""

    __tablename__ = "relay_owners"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    # boot id and pid namespace: relays that share it can ask the kernel whether `pid` runs
    machine: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    pid_start: Mapped[str] = mapped_column(String(30))  # the process start time, "" unknown
    started_at: Mapped[datetime] = mapped_column(Time)
    beat_at: Mapped[datetime] = mapped_column(Time)


class Reject(Base):
    """An inbound message acknowledged to its provider but not stored: why, and from whom.

    The words are not kept (they could not be stored, or not read); the provider's id and
    the sender let staff see that someone wrote and could not be answered.
    """

    __tablename__ = "rejects"
    __table_args__ = (UniqueConstraint("channel", "provider_message_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(120))
    sender: Mapped[str | None] = mapped_column(Address("rejects.sender", String(100)))
    reason: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(Time)


class ConsentRecord(Base):
    """What a person was shown and chose, and on what legal basis (UU PDP Pasal 24)."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    text_version: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(5))
    choice: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(Time)


class Case(Base):
    """A family's request in the counselor queue, with why it has its priority."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_waiting", "priority", "created_at",
              postgresql_where=text("status = 'waiting'"), sqlite_where=text("status = 'waiting'")),
        # The scheduler's scan and `cases list` read open cases by index (migration 0007).
        Index("ix_cases_claimed", "priority", "created_at",
              postgresql_where=text("status = 'claimed'"), sqlite_where=text("status = 'claimed'")),
        Index("ix_cases_waiting_alerts", "priority", "last_alert_at", "created_at",
              postgresql_where=text("status = 'waiting'"), sqlite_where=text("status = 'waiting'")),
        # The scheduler's look at families waiting on the person who holds their case
        # (migration 0018): only held cases with a family message unanswered.
        Index("ix_cases_family_waiting", "family_waiting_since",
              postgresql_where=text(FAMILY_WAITING), sqlite_where=text(FAMILY_WAITING)),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # waiting | claimed | closed
    priority: Mapped[str] = mapped_column(String(2))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    # The intake's answers the case keeps (the flow's `case_answers`): marked `answer`
    category: Mapped[str | None] = mapped_column(String(30), info=ANSWER)
    distrik: Mapped[str | None] = mapped_column(String(40), info=ANSWER)
    channel: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(Time)
    claimed_at: Mapped[datetime | None] = mapped_column(Time)
    closed_at: Mapped[datetime | None] = mapped_column(Time)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("counselors.id"), index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(Time)
    outcome: Mapped[str | None] = mapped_column(String(30))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    previous_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # Escalation bookkeeping for the scheduler: when it last alerted, and how often.
    last_alert_at: Mapped[datetime | None] = mapped_column(Time)
    alert_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    flagged_at: Mapped[datetime | None] = mapped_column(Time)
    # A family waiting on the person who holds their case (bot.pipeline.heldwait, migration
    # 0018): since when their message is unanswered; since when danger words of theirs are;
    # when the family was told and the holder reminded; when supervisors were told. All
    # emptied when staff's words go to the family.
    family_waiting_since: Mapped[datetime | None] = mapped_column(Time)
    danger_waiting_since: Mapped[datetime | None] = mapped_column(Time)
    wait_reminded_at: Mapped[datetime | None] = mapped_column(Time)
    wait_escalated_at: Mapped[datetime | None] = mapped_column(Time)


class CaseEvent(Base):
    """The audit trail: who did what, and when."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    actor: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON("case_events.data", JSON()))
    created_at: Mapped[datetime] = mapped_column(Time)


class CaseCounter(Base):
    """The last case number given out in a year."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Counselor(Base):
    """A person who takes cases: counselor, supervisor or admin."""

    __tablename__ = "counselors"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(12))  # counselor | supervisor | admin
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    active_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", use_alter=True, name="fk_counselors_active_case_id_cases"))
    created_at: Mapped[datetime] = mapped_column(Time)
    removed_at: Mapped[datetime | None] = mapped_column(Time)
    # The web console (migration 0010): the sign-in name (lower case; NULL: the name), an
    # argon2 hash (NULL: no console sign-in), and the language of the console's texts.
    username: Mapped[str | None] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(Time)
    language: Mapped[str] = mapped_column(String(5), default="id", server_default="id")


class ConsoleSession(Base):
    """A staff member signed in to the web console: only a hash of the cookie's id is kept."""

    __tablename__ = "console_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Time)
    last_seen_at: Mapped[datetime] = mapped_column(Time)
    revoked_at: Mapped[datetime | None] = mapped_column(Time)
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(200))
    flash: Mapped[str | None] = mapped_column(Text)  # a notice for the next page shown


class LoginFailure(Base):
    """A failed console sign-in: counted per username and per address for throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_username", "username", "created_at"),
                      Index("ix_login_failures_address", "address", "created_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Time)


class CounselorAccount(Base):
    """Where a counselor is reachable: a channel and the provider's user id there."""

    __tablename__ = "counselor_accounts"
    __table_args__ = (UniqueConstraint("channel", "provider_user_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    provider_user_id: Mapped[str] = mapped_column(
        Address("counselor_accounts.provider_user_id", String(100)))
    # When they last wrote to the bot from here: WhatsApp's 24-hour window is theirs too.
    last_inbound_at: Mapped[datetime | None] = mapped_column(Time)


class Invite(Base):
    """A one-time code that makes whoever sends `/daftar CODE` a counselor."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Time)
    expires_at: Mapped[datetime] = mapped_column(Time)
    used_at: Mapped[datetime | None] = mapped_column(Time)
    counselor_id: Mapped[int | None] = mapped_column(ForeignKey("counselors.id"))


class Referral(Base):
    """A referral to another institution, with the reason and its legal basis."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    institution: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Sealed("referrals.reason", Text()))
    legal_basis: Mapped[str] = mapped_column(String(30))
    counselor_id: Mapped[int] = mapped_column(ForeignKey("counselors.id"))
    created_at: Mapped[datetime] = mapped_column(Time)


# -- data rights (UU PDP): requests, legal holds, who looked at a case, retention runs --------

OPEN_REQUESTS = text("status = 'open'")  # privacy requests the scheduler still watches


class PrivacyRequest(Base):
    """A family's DATA, UBAH or HAPUS: work with a due time (3x24 hours), done or refused."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_open", "due_at", sqlite_where=OPEN_REQUESTS,
              postgresql_where=OPEN_REQUESTS),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # data | correct | erase
    status: Mapped[str] = mapped_column(String(12))  # open | done | refused | deferred
    case_ids: Mapped[list[int]] = mapped_column(JSON)  # the contact's cases when asked
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(Time)
    due_at: Mapped[datetime] = mapped_column(Time)
    closed_at: Mapped[datetime | None] = mapped_column(Time)
    closed_by: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(String(30))  # refusal or deferral, a code
    alerts: Mapped[int] = mapped_column(Integer, default=0)  # reminders sent after the first
    last_alert_at: Mapped[datetime | None] = mapped_column(Time)


class ProviderCopy(Base):
    """A message (or its media) the provider still keeps after an erasure cleared ours
    (Twilio: `SM...`, `MM.../ME...`): deleted through the provider's API by the scheduler,
    tried again later until it is gone. A provider id names no one."""

    __tablename__ = "provider_copies"
    __table_args__ = (UniqueConstraint("channel", "item"),
                      Index("ix_provider_copies_next_at", "next_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    item: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Time)
    next_at: Mapped[datetime] = mapped_column(Time)  # the next try
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class CaseHold(Base):
    """A legal hold: the case is in a legal process (UU TPKS) or a child-protection referral,
    so its data may not be erased until the hold is released."""

    __tablename__ = "case_holds"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Sealed("case_holds.reason", Text()))
    held_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(Time)
    released_at: Mapped[datetime | None] = mapped_column(Time)
    released_by: Mapped[str | None] = mapped_column(String(60))


class CaseAccess(Base):
    """Someone looked at a case: who, when, through what, and why for a break-glass view.
    Ids and codes only, never content."""

    __tablename__ = "case_access"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor: Mapped[str] = mapped_column(String(60))  # counselor:<id> | cli:<os user>
    via: Mapped[str] = mapped_column(String(20))  # cases_show | riwayat | kasus | export |
    # console | console_live
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Time)


class RetentionRun(Base):
    """A real run of the retention rules: when, and how much each rule removed."""

    __tablename__ = "retention_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(Time)
    actor: Mapped[str] = mapped_column(String(60))
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


# -- information broadcasts (issue 18): topic subscriptions, broadcasts, their recipients ----

OPEN_SUBSCRIPTIONS = text("status = 'active'")


class Subscription(Base):
    """A family's consent to receive one broadcast topic, kept apart from intake consent:
    what they were shown (text version, language), when, and how they asked (keyword, link,
    menu); ended by an opt-out (when, why). Never made by default."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_topic_active", "topic", "contact_id",
              sqlite_where=OPEN_SUBSCRIPTIONS, postgresql_where=OPEN_SUBSCRIPTIONS),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))  # active | ended
    text_version: Mapped[str] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(5))
    source: Mapped[str] = mapped_column(String(12))  # keyword | link | menu
    opted_in_at: Mapped[datetime] = mapped_column(Time)
    opted_out_at: Mapped[datetime | None] = mapped_column(Time)
    opt_out_reason: Mapped[str | None] = mapped_column(String(30))


class Broadcast(Base):
    """An announcement to a topic's subscribers: its texts, audience filters, schedule (a UTC
    instant, entered and shown in WIT) and where it stands."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status", "status", "scheduled_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    # draft | scheduled | starting | sending | done | cancelled
    status: Mapped[str] = mapped_column(String(12))
    texts: Mapped[dict[str, str]] = mapped_column(JSON)  # language -> text
    template_sid: Mapped[str | None] = mapped_column(String(40))
    distrik: Mapped[list[str]] = mapped_column(JSON)  # [] = every distrik
    channels: Mapped[list[str]] = mapped_column(JSON)  # [] = every channel
    scheduled_at: Mapped[datetime | None] = mapped_column(Time)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(Time)
    started_at: Mapped[datetime | None] = mapped_column(Time)
    finished_at: Mapped[datetime | None] = mapped_column(Time)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    # per channel, the next instant the broadcast may hand the relay a message (its pace)
    paced_until: Mapped[dict[str, str]] = mapped_column(JSON)


class BroadcastRecipient(Base):
    """One person in a broadcast's snapshot: at most once per broadcast, and what became of
    it (pending, queued with its outbox row, skipped with a reason, cancelled)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id"),
        Index("ix_broadcast_recipients_state", "broadcast_id", "status", "id"),
        Index("ix_broadcast_recipients_queued", "channel", "queued_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(12))  # pending | queued | skipped | cancelled
    reason: Mapped[str | None] = mapped_column(String(30))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    queued_at: Mapped[datetime | None] = mapped_column(Time)
