"""Console sign-in: staff usernames and password hashes, sessions, and failed sign-ins.

Hashing is not done here (bot.console.passwords); this module keeps what is stored. A session
row is found by the SHA-256 of the cookie's random id, so a copy of the table opens nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, delete, func, insert, or_, select, update

from storage.clock import maybe_utc, utc
from storage.counselors import COUNSELORS
from storage.models import ConsoleSession, LoginFailure

SESSIONS = cast(Table, ConsoleSession.__table__)
FAILURES = cast(Table, LoginFailure.__table__)


@dataclass(frozen=True)
class Login:
    """What a sign-in needs to know about the person a username names."""

    counselor_id: int
    password_hash: str | None


def login_name(conn: Connection, counselor_id: int) -> str:
    """The username a counselor signs in with: the one given, else the name (lower case)."""
    row = conn.execute(select(COUNSELORS.c.username, COUNSELORS.c.name)
                       .where(COUNSELORS.c.id == counselor_id)).one()
    return str(row.username or row.name).lower()


def find_login(conn: Connection, username: str) -> Login | None:
    """The active counselor a username names: their username, else their name (either case)."""
    key = " ".join(username.split()).lower()
    if not key:
        return None
    c = COUNSELORS.c
    rows = conn.execute(select(c.id, c.password_hash, c.username).where(
        c.removed_at.is_(None),
        or_(c.username == key, (c.username.is_(None)) & (func.lower(c.name) == key)))).all()
    exact = [r for r in rows if r.username == key] or rows
    if len(exact) != 1:
        return None
    return Login(int(exact[0].id), exact[0].password_hash)


def username_taken(conn: Connection, username: str) -> bool:
    key = username.lower()
    c = COUNSELORS.c
    return conn.execute(select(c.id).where(
        c.removed_at.is_(None),
        or_(c.username == key, (c.username.is_(None)) & (func.lower(c.name) == key)))
    ).first() is not None


def set_username(conn: Connection, counselor_id: int, username: str) -> None:
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id)
                 .values(username=username.lower()))


def set_password_hash(conn: Connection, counselor_id: int, hashed: str, now: datetime,
                      revoke: bool = True) -> None:
    """A new password: every session of the person ends (unless it is a rehash at sign-in)."""
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id)
                 .values(password_hash=hashed, password_changed_at=now))
    if revoke:
        revoke_all(conn, counselor_id, now)


def set_role(conn: Connection, counselor_id: int, role: str, now: datetime) -> None:
    """A new role: every session of the person ends, so the next page asks again."""
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id).values(role=role))
    revoke_all(conn, counselor_id, now)


def set_language(conn: Connection, counselor_id: int, language: str) -> None:
    conn.execute(update(COUNSELORS).where(COUNSELORS.c.id == counselor_id)
                 .values(language=language))


def language_of(conn: Connection, counselor_id: int) -> str:
    return str(conn.execute(select(COUNSELORS.c.language)
                            .where(COUNSELORS.c.id == counselor_id)).scalar_one() or "id")


# -- sessions ---------------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(conn: Connection, counselor_id: int, now: datetime, address: str,
                 user_agent: str) -> str:
    """A new session; returns the id for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    conn.execute(insert(SESSIONS).values(
        id_hash=_digest(token), counselor_id=counselor_id, created_at=now, last_seen_at=now,
        address=address[:64], user_agent=user_agent[:200]))
    return token


@dataclass(frozen=True)
class Session:
    id_hash: str
    counselor_id: int
    created_at: datetime
    last_seen_at: datetime
    flash: str | None


def live_session(conn: Connection, token: str, now: datetime, idle: timedelta,
                 absolute: timedelta) -> Session | None:
    """The session a cookie names if it is not revoked, idle too long or too old, and its
    owner is still staff; seen now (written at most once a minute)."""
    s = SESSIONS.c
    row = conn.execute(select(s.id_hash, s.counselor_id, s.created_at, s.last_seen_at,
                              s.revoked_at, s.flash, COUNSELORS.c.removed_at)
                       .join(COUNSELORS, COUNSELORS.c.id == s.counselor_id)
                       .where(s.id_hash == _digest(token))).one_or_none()
    if row is None or row.revoked_at is not None or row.removed_at is not None:
        return None
    created, seen = utc(row.created_at), utc(row.last_seen_at)
    if now - seen > idle or now - created > absolute:
        return None
    if now - seen >= timedelta(minutes=1):
        conn.execute(update(SESSIONS).where(s.id_hash == row.id_hash).values(last_seen_at=now))
        seen = now
    return Session(row.id_hash, int(row.counselor_id), created, seen, row.flash)


def revoke(conn: Connection, token: str, now: datetime) -> None:
    conn.execute(update(SESSIONS).where(SESSIONS.c.id_hash == _digest(token),
                                        SESSIONS.c.revoked_at.is_(None)).values(revoked_at=now))


def revoke_all(conn: Connection, counselor_id: int, now: datetime) -> int:
    return conn.execute(update(SESSIONS).where(SESSIONS.c.counselor_id == counselor_id,
                                               SESSIONS.c.revoked_at.is_(None))
                        .values(revoked_at=now)).rowcount


def set_flash(conn: Connection, id_hash: str, text: str | None) -> None:
    conn.execute(update(SESSIONS).where(SESSIONS.c.id_hash == id_hash).values(flash=text))


def revoked_at(conn: Connection, token: str) -> datetime | None:
    return maybe_utc(conn.execute(select(SESSIONS.c.revoked_at)
                                  .where(SESSIONS.c.id_hash == _digest(token))).scalar())


# -- failed sign-ins --------------------------------------------------------------------------


def record_failure(conn: Connection, username: str, address: str, now: datetime) -> None:
    conn.execute(insert(FAILURES).values(username=username.lower()[:80], address=address[:64],
                                         created_at=now))


def failures(conn: Connection, username: str, address: str,
             since: datetime) -> tuple[int, int]:
    """Failed sign-ins since `since`: (for this username, from this address)."""
    f = FAILURES.c
    by_name = conn.execute(select(func.count()).select_from(FAILURES).where(
        f.username == username.lower()[:80], f.created_at >= since)).scalar_one()
    by_address = conn.execute(select(func.count()).select_from(FAILURES).where(
        f.address == address[:64], f.created_at >= since)).scalar_one()
    return int(by_name), int(by_address)


def clear_failures(conn: Connection, username: str, before: datetime) -> None:
    """A successful sign-in forgets the username's failures, and old rows go."""
    conn.execute(delete(FAILURES).where(or_(FAILURES.c.username == username.lower()[:80],
                                            FAILURES.c.created_at < before)))
