"""The rows the inbox processor writes: one type per table and kind of write, and one writer.

A turn's writes are values of these types (built in `bot.pipeline.decide`, each in one place). The
writer groups them by type and writes each group with one statement: on SQLite through the
driver (`executemany`, values encoded as SQLAlchemy would store them, `storage.bulk`), on
PostgreSQL through SQLAlchemy Core. Encoding is a separate step (`encode`), so a caller may
do it before it takes the write lock and write later (`write`); the values are the same
whenever it is done.

Adding a column the processor fills: add the field to its row type here (named as the
column) and give it its value where `bot.pipeline.decide` builds that row.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, insert, update

from storage import bulk
from storage.cases import ANSWERS, CASES, CONSENTS, EVENTS, LOG
from storage.conversations import CONTACTS, CONVS
from storage.inbox import T as INBOX
from storage.outbox import T as OUTBOX


class LogRow(NamedTuple):
    """A message in the case's transcript (`messages`): the family's, the bot's."""

    contact_id: int
    case_id: int | None
    inbox_id: int | None
    direction: str
    author: str
    text: str
    truncated: bool
    original_length: int
    media: Any
    created_at: datetime


class OutboxRow(NamedTuple):
    """A message to send (`outbox`); `payload` as JSON text (`bulk.Encoded`) or a dict."""

    channel: str
    recipient: str
    contact_id: int | None
    case_id: int | None
    payload: Any
    dedupe_key: str
    status: str
    attempts: int
    available_at: datetime
    created_at: datetime


class Released(NamedTuple):
    """A message held for the family's next words (`outbox.HELD`) let go now, with the
    reply to those words: in line again, made now as far as its deadline goes."""

    status: str
    available_at: datetime
    created_at: datetime
    id: int


class Answered(NamedTuple):
    """A person's first words reached the family of a case (`cases.first_response_at`):
    written only where it was not set yet (a counselor's words held for the family's next
    message go out with the reply to it: bot.pipeline.handoff.release)."""

    first_response_at: datetime
    id: int


class FamilyWaits(NamedTuple):
    """A family's words on a case a person holds wait for that person's answer
    (`cases.family_waiting_since`): written where nothing of theirs waited yet."""

    family_waiting_since: datetime
    id: int


class DangerWaits(NamedTuple):
    """Danger words of a family on a case a person holds wait for that person's answer
    (`cases.danger_waiting_since`): written where none waited yet."""

    danger_waiting_since: datetime
    id: int


class WaitReminded(NamedTuple):
    """A family waiting on the holder of their case was told so, and the holder reminded
    (`cases.wait_reminded_at`)."""

    wait_reminded_at: datetime
    id: int


class WaitEscalated(NamedTuple):
    """Supervisors were told that a family waits on the holder of their case
    (`cases.wait_escalated_at`)."""

    wait_escalated_at: datetime
    id: int


class DangerPaged(NamedTuple):
    """Staff were paged about a family's danger-now words on a case a person holds
    (`cases.last_alert_at`): the P0 clock pages again from it (bot.casework.heldwait)."""

    last_alert_at: datetime
    id: int


class HolderAnswered(NamedTuple):
    """Staff's words went to the family of a held case: nothing of theirs waits any more
    (the four `cases` columns of a family waiting emptied)."""

    family_waiting_since: None
    danger_waiting_since: None
    wait_reminded_at: None
    wait_escalated_at: None
    id: int

    @classmethod
    def of(cls, case_id: int) -> HolderAnswered:
        return cls(None, None, None, None, case_id)


class EventRow(NamedTuple):
    """An entry in the audit trail (`case_events`)."""

    case_id: int | None
    contact_id: int | None
    actor: str
    kind: str
    data: Any
    created_at: datetime


class ConsentRow(NamedTuple):
    """A consent given or refused (`consents`)."""

    contact_id: int
    text_version: str
    language: str
    choice: str
    legal_basis: str
    created_at: datetime


class NewConversation(NamedTuple):
    contact_id: int
    flow: str
    flow_version: int
    state: str
    language: str
    answers: Any
    flags: Any
    misses: int
    case_id: int | None
    created_at: datetime
    updated_at: datetime


class SavedConversation(NamedTuple):
    flow: str
    flow_version: int
    state: str
    language: str
    answers: Any
    flags: Any
    misses: int
    case_id: int | None
    updated_at: datetime
    id: int


# What the intake has decided about a case so far (`cases`), with the answers it keeps
# (`storage.cases.ANSWERS`: a column added there is written here too).
SavedTriage: Any = cast(Any, namedtuple)(
    "SavedTriage", ("priority", "reasons", "legal_basis", *ANSWERS, "updated_at", "id"))


class Seen(NamedTuple):
    """A contact wrote (`contacts.last_inbound_at`)."""

    last_inbound_at: datetime
    id: int


class Processed(NamedTuple):
    """An inbound message done with (`inbox.processed_at`)."""

    processed_at: datetime
    id: int


class Redacted(NamedTuple):
    """An inbound message whose words must not be kept (`inbox.payload`)."""

    payload: Any
    id: int


Row = LogRow | OutboxRow | EventRow | ConsentRow | NewConversation | SavedConversation | \
    Seen | Processed | Redacted | Released | Answered | FamilyWaits | DangerWaits | \
    WaitReminded | WaitEscalated | DangerPaged | HolderAnswered | \
    tuple[Any, ...]  # the last: SavedTriage

# Each type's table and, for an UPDATE, the key (its last field); in the order written.
TABLES: dict[type, tuple[Table, str | None]] = {
    NewConversation: (CONVS, None), SavedConversation: (CONVS, "id"),
    SavedTriage: (CASES, "id"), Answered: (CASES, "id"), HolderAnswered: (CASES, "id"),
    FamilyWaits: (CASES, "id"), DangerWaits: (CASES, "id"), WaitReminded: (CASES, "id"),
    WaitEscalated: (CASES, "id"), DangerPaged: (CASES, "id"), ConsentRow: (CONSENTS, None),
    EventRow: (EVENTS, None),
    LogRow: (LOG, None), OutboxRow: (OUTBOX, None), Released: (OUTBOX, "id"),
    Seen: (CONTACTS, "id"),
    Processed: (INBOX, "id"), Redacted: (INBOX, "id"),
}
ORDER = {kind: n for n, kind in enumerate(TABLES)}
FIELDS: dict[type, tuple[str, ...]] = {kind: kind._fields for kind in TABLES}  # type: ignore[attr-defined]
# SQLite: each type's statement, and how to encode a row of it (storage.bulk)
SQLITE = {kind: bulk.positional(table, FIELDS[kind], key) for kind, (table, key) in TABLES.items()}

Values = dict[type, list[Any]]  # per row type, its rows as its statement takes them


def encode(rows: Iterable[Row], dialect: str, into: Values | None = None) -> Values:
    """The rows as their statements take them (SQLite: tuples as stored; otherwise dicts),
    added to `into` if given."""
    out: Values = {} if into is None else into
    sqlite = dialect == "sqlite"
    for row in rows:
        kind = type(row)
        group = out.get(kind)
        if group is None:
            group = out[kind] = []
        if sqlite:
            group.append(SQLITE[kind][1](*row))
        else:
            group.append(bulk.plain(dict(zip(FIELDS[kind], row, strict=True))))
    return out


def merge(parts: Sequence[Values]) -> Values:
    """Several encodings as one (each type's rows in the order of `parts`)."""
    out: Values = {}
    for part in parts:
        for kind, values in part.items():
            out.setdefault(kind, []).extend(values)
    return out


def write(conn: Connection, encoded: Values) -> None:
    """One statement per row type, in a fixed order (new conversations and cases' triage
    before the rows that follow them)."""
    sqlite = conn.dialect.name == "sqlite"
    for kind in sorted(encoded, key=ORDER.__getitem__):
        values = encoded[kind]
        if not values:
            continue
        table, key = TABLES[kind]
        if sqlite:
            conn.exec_driver_sql(SQLITE[kind][0], values)
        elif key is None:
            conn.execute(insert(table), values)
        else:
            columns = [c for c in FIELDS[kind] if c != key]
            conn.execute(update(table).where(table.c[key] == bindparam(f"b_{key}")).values(
                {c: bindparam(f"b_{c}") for c in columns}),
                [{f"b_{k}": v for k, v in r.items()} for r in values])


def write_rows(conn: Connection, rows: Iterable[Row]) -> None:
    """Encode and write at once."""
    write(conn, encode(rows, conn.dialect.name))
