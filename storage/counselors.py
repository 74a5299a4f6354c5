"""Counselors, where they are reachable, and one-time registration codes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from storage import bulk, crypto
from storage.clock import maybe_utc
from storage.models import Case, Counselor, CounselorAccount, Invite

COUNSELORS = cast(Table, Counselor.__table__)
ACCOUNTS = cast(Table, CounselorAccount.__table__)
INVITES = cast(Table, Invite.__table__)
CASES = cast(Table, Case.__table__)
ROLES = ("counselor", "supervisor", "admin")
SUPERVISOR = "supervisor"
# an admin keeps staff accounts and works no cases (README: reads none, is paged for none,
# is handed none; walk V-3: paged for P1 cases and named to a family as its counselor)
ADMIN = "admin"
INVITE_VALID = timedelta(days=7)
# Channels in the order we prefer to reach a counselor on.
PREFERRED = ("telegram", "whatsapp")


class Account(NamedTuple):
    """Where a counselor is reachable, and when they last wrote from there."""

    channel: str
    user: str
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class CounselorRow:
    id: int
    name: str
    role: str
    on_duty: bool
    capacity: int
    active_case_id: int | None

    @property
    def supervises(self) -> bool:
        return self.role == SUPERVISOR


_COLS = (COUNSELORS.c.id, COUNSELORS.c.name, COUNSELORS.c.role, COUNSELORS.c.on_duty,
         COUNSELORS.c.capacity, COUNSELORS.c.active_case_id)


def add(conn: Connection, *, name: str, role: str, now: datetime, capacity: int = 5,
        accounts: list[tuple[str, str]] | None = None) -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    cid = int(conn.execute(insert(COUNSELORS).values(
        name=name, role=role, on_duty=False, capacity=capacity, created_at=now,
    ).returning(COUNSELORS.c.id)).scalar_one())
    for channel, user in accounts or []:
        conn.execute(insert(ACCOUNTS).values(counselor_id=cid, channel=channel,
                                             provider_user_id=user))
    return cid


def remove(conn: Connection, counselor_id: int, now: datetime) -> None:
    """Removed counselors keep their history; their accounts stop being counselors."""
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id)
                 .values(removed_at=now, on_duty=False, active_case_id=None))
    conn.execute(ACCOUNTS.delete().where(ACCOUNTS.c.counselor_id == counselor_id))


def get(conn: Connection, counselor_id: int) -> CounselorRow | None:
    row = conn.execute(select(*_COLS).where(COUNSELORS.c.id == counselor_id)).one_or_none()
    return None if row is None else CounselorRow(*row)


def by_name(conn: Connection, name: str) -> CounselorRow | None:
    rows = conn.execute(select(*_COLS).where(
        func.lower(COUNSELORS.c.name) == name.strip().lower(),
        COUNSELORS.c.removed_at.is_(None))).all()
    return CounselorRow(*rows[0]) if len(rows) == 1 else None


def ids_named(conn: Connection, name: str) -> list[int]:
    """The counselors not removed who are called `name` (letter case aside), by id."""
    return [int(i) for i in conn.execute(select(COUNSELORS.c.id).where(
        func.lower(COUNSELORS.c.name) == name.lower(), COUNSELORS.c.removed_at.is_(None))
        .order_by(COUNSELORS.c.id)).scalars()]


def removed_at(conn: Connection, counselor_id: int) -> datetime | None:
    """When this counselor was removed (None: still a counselor, or no such id)."""
    return maybe_utc(conn.execute(select(COUNSELORS.c.removed_at).where(
        COUNSELORS.c.id == counselor_id)).scalar_one_or_none())


def active(conn: Connection) -> list[CounselorRow]:
    rows = conn.execute(select(*_COLS).where(COUNSELORS.c.removed_at.is_(None))
                        .order_by(COUNSELORS.c.id))
    return [CounselorRow(*r) for r in rows]


_BY_ACCOUNT = select(ACCOUNTS.c.provider_user_id, ACCOUNTS.c.counselor_id).where(
    ACCOUNTS.c.channel == bindparam("channel"),
    ACCOUNTS.c.provider_user_id.in_(bindparam("users", expanding=True)))


def by_account(conn: Connection, users: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Which of these (channel, user) pairs are counselors: pair -> counselor id."""
    out: dict[tuple[str, str], int] = {}
    for channel in {c for c, _ in users}:
        ids = crypto.any_key(ACCOUNTS.c.provider_user_id, [u for c, u in users if c == channel])
        out.update({(channel, user): int(cid) for user, cid in bulk.select_rows(
            conn, _BY_ACCOUNT, {"channel": channel, "users": ids})})
    return out


def _account(channel: str, user: str) -> Any:
    """The condition for the account of `user` on `channel`, whichever key sealed it."""
    return (ACCOUNTS.c.channel == channel) & ACCOUNTS.c.provider_user_id.in_(
        crypto.any_key(ACCOUNTS.c.provider_user_id, [user]))


def wrote(conn: Connection, channel: str, user: str, now: datetime) -> None:
    """A counselor wrote to the bot from this account (WhatsApp opens its 24-hour window)."""
    conn.execute(update(ACCOUNTS).where(_account(channel, user)).values(last_inbound_at=now))


def last_inbound_from(conn: Connection, channel: str, user: str) -> datetime | None:
    """When the counselor with this account last wrote from it (None: never, or no such
    counselor)."""
    return maybe_utc(conn.execute(select(ACCOUNTS.c.last_inbound_at)
                                  .where(_account(channel, user))).scalar_one_or_none())


def accounts_of(conn: Connection, counselor_id: int) -> list[Account]:
    """The counselor's accounts, the preferred channel first."""
    rows = conn.execute(select(ACCOUNTS.c.channel, ACCOUNTS.c.provider_user_id,
                               ACCOUNTS.c.last_inbound_at)
                        .where(ACCOUNTS.c.counselor_id == counselor_id))
    found = [Account(r.channel, r.provider_user_id, maybe_utc(r.last_inbound_at)) for r in rows]
    return sorted(found, key=lambda a: PREFERRED.index(a.channel)
                  if a.channel in PREFERRED else 9)


def set_duty(conn: Connection, counselor_id: int, on: bool) -> None:
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id).values(on_duty=on))


def set_active_case(conn: Connection, counselor_id: int, case_id: int | None) -> None:
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id)
                 .values(active_case_id=case_id))


def open_cases(conn: Connection, counselor_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(CASES).where(
        CASES.c.assignee_id == counselor_id, CASES.c.status == "claimed")).scalar_one())


def create_invite(conn: Connection, role: str, now: datetime, name: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    code = secrets.token_hex(4).upper()
    conn.execute(insert(INVITES).values(code=code, role=role, name=name, created_at=now,
                                        expires_at=now + INVITE_VALID))
    return code


def redeem(conn: Connection, code: str, channel: str, user: str, now: datetime) -> int | None:
    """Use a one-time code: the sender becomes a counselor. None if the code is not valid."""
    row = conn.execute(update(INVITES).where(
        func.upper(INVITES.c.code) == code.strip().upper(), INVITES.c.used_at.is_(None),
        INVITES.c.expires_at > now).values(used_at=now)
        .returning(INVITES.c.id, INVITES.c.role, INVITES.c.name)).one_or_none()
    if row is None:
        return None
    name = row.name or f"Petugas {row.id}"
    cid = add(conn, name=name, role=row.role, now=now, accounts=[(channel, user)])
    conn.execute(update(INVITES).where(INVITES.c.id == row.id).values(counselor_id=cid))
    return cid


def on_duty(conn: Connection, supervisors_only: bool = False) -> list[CounselorRow]:
    stmt = select(*_COLS).where(COUNSELORS.c.removed_at.is_(None),
                                COUNSELORS.c.on_duty.is_(True), COUNSELORS.c.role != ADMIN)
    if supervisors_only:
        stmt = stmt.where(COUNSELORS.c.role == SUPERVISOR)
    return [CounselorRow(*r) for r in conn.execute(stmt.order_by(COUNSELORS.c.id))]


def supervisors(conn: Connection) -> list[CounselorRow]:
    stmt = select(*_COLS).where(COUNSELORS.c.removed_at.is_(None),
                                COUNSELORS.c.role == SUPERVISOR)
    return [CounselorRow(*r) for r in conn.execute(stmt.order_by(COUNSELORS.c.id))]


@dataclass(frozen=True)
class Roster:
    """Who to alert, read once: on-duty counselors and supervisors (ids)."""

    on_duty: tuple[int, ...]
    supervisors: tuple[int, ...]


_ROSTER = select(COUNSELORS.c.id, COUNSELORS.c.role, COUNSELORS.c.on_duty).where(
    COUNSELORS.c.removed_at.is_(None)).order_by(COUNSELORS.c.id)


def roster(conn: Connection) -> Roster:
    """Who is on duty and who supervises (read once per processor batch that opens a case:
    through the driver on SQLite, where Core's handling cost more than the query)."""
    duty, sups = [], []
    for cid, role, on_duty in bulk.select_rows(conn, _ROSTER, {}):
        if on_duty and role != ADMIN:
            duty.append(int(cid))
        if role == SUPERVISOR:
            sups.append(int(cid))
    return Roster(tuple(duty), tuple(sups))
