"""`lk3 counselor add|list|remove|invite|passwd`: the people who take cases, invite codes, and
console passwords."""

from __future__ import annotations

import getpass
import json
import re
import sys
from typing import Any, TextIO

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.casework import staffops
from flows.catalog import Catalog, load_catalog
from flows.loader import FLOWS_DIR
from storage import counselors, staffauth
from storage.clock import utcnow
from storage.counselors import INVITE_VALID
from storage.rows import EventRow, write_rows

CLI = "cli"  # the actor in the audit trail for what an operator does from the terminal
_PHONE = re.compile(r"\+\d{7,15}")
_TELEGRAM_ID = re.compile(r"-?\d{1,20}")


class Refused(Exception):
    """An operator mistake: one sentence for stderr, and the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def whatsapp_account(number: str) -> str:
    """`+62 812-3456` or `whatsapp:+628123456` -> `whatsapp:+628123456` (Twilio's `From`)."""
    raw = number.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:"):]
    raw = re.sub(r"[\s\-().]", "", raw)
    if not _PHONE.fullmatch(raw):
        raise Refused(f"--whatsapp {number!r} is not a phone number in international form, "
                      "e.g. +6281234567890.")
    return f"whatsapp:{raw}"


def _accounts(telegram_id: str | None, whatsapp: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if telegram_id is not None:
        tid = telegram_id.strip()
        if not _TELEGRAM_ID.fullmatch(tid):
            raise Refused(f"--telegram-id {telegram_id!r} is not a Telegram user id "
                          "(a number, e.g. 123456789).")
        out.append(("telegram", tid))
    if whatsapp is not None:
        out.append(("whatsapp", whatsapp_account(whatsapp)))
    return out


def _describe(channel: str, user: str) -> str:
    if channel == "telegram":
        return f"Telegram id {user}"
    if channel == "whatsapp":
        return f"WhatsApp number {user.removeprefix('whatsapp:')}"
    return f"{channel} account {user}"


def _check_username(conn: Connection, name: str, username: str | None) -> None:
    """The console sign-in name (the username, else the name) must name one person."""
    if username is not None and not staffops.USERNAME.fullmatch(username):
        raise Refused(f"--username {username!r} must be 2-40 letters, digits, '.', '_' or "
                      "'-', starting with a letter or digit.")
    login = username or name
    if staffauth.username_taken(conn, login):
        raise Refused(f"The console username {login.lower()!r} is already taken; give "
                      "another with --username.")


def _check_new(conn: Connection, name: str, accounts: list[tuple[str, str]]) -> None:
    taken = counselors.by_account(conn, accounts)
    for (channel, user), cid in taken.items():
        owner = counselors.get(conn, cid)
        who = f"{owner.name} (id {owner.id})" if owner else f"counselor {cid}"
        raise Refused(f"The {_describe(channel, user)} already belongs to {who}.")
    same = counselors.ids_named(conn, name)
    if same:
        raise Refused(f"A counselor named {name!r} already exists (id {same[0]}); names must "
                      "be unique so that /alihkan NAME finds one person.")


def add(db: Engine, *, name: str, role: str, capacity: int, telegram_id: str | None,
        whatsapp: str | None, username: str | None = None) -> int:
    name = " ".join(name.split())
    try:
        if not name:
            raise Refused("--name must not be empty.")
        if capacity < 1:
            raise Refused("--capacity must be at least 1.")
        accounts = _accounts(telegram_id, whatsapp)
        try:
            with db.begin() as conn:
                _check_new(conn, name, accounts)
                _check_username(conn, name, username)
                cid = counselors.add(conn, name=name, role=role, now=utcnow(),
                                     capacity=capacity, accounts=accounts)
                if username is not None:
                    staffauth.set_username(conn, cid, username)
        except IntegrityError:  # someone added the same account at the same moment
            raise Refused("That Telegram id or WhatsApp number already belongs to a "
                          "counselor.") from None
    except Refused as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return exc.status
    reach = ", ".join(_describe(c, u) for c, u in accounts) or "no account yet"
    print(f"added counselor {cid}: {name} ({role}, capacity {capacity}; {reach})")
    print(f"console username: {(username or name).lower()} (no console password yet: "
          f"`lk3 counselor passwd {cid}`)")
    return 0


def rows(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for c in counselors.active(conn):
        out.append({
            "id": c.id, "name": c.name, "role": c.role, "on_duty": bool(c.on_duty),
            "capacity": c.capacity, "open_cases": counselors.open_cases(conn, c.id),
            "accounts": [{"channel": ch, "id": user}
                         for ch, user in counselors.accounts_of(conn, c.id)],
        })
    return out


def list_counselors(db: Engine, as_json: bool) -> int:
    with db.connect() as conn:
        found = rows(conn)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no counselors")
        return 0
    width = max(4, *(len(c["name"]) for c in found))
    print(f"{'ID':>4} {'NAME':{width}} {'ROLE':10} {'ON DUTY':7} {'CAPACITY':8} "
          f"{'OPEN':4} ACCOUNTS")
    for c in found:
        reach = ", ".join(f"{a['channel']}:{a['id'].removeprefix('whatsapp:')}"
                          for a in c["accounts"]) or "-"
        print(f"{c['id']:>4} {c['name']:{width}} {c['role']:10} "
              f"{'yes' if c['on_duty'] else 'no':7} {c['capacity']:>8} {c['open_cases']:>4} "
              f"{reach}")
    return 0


def _find(conn: Connection, who: str) -> counselors.CounselorRow:
    key = who.strip()
    if key.isdigit():
        found = counselors.get(conn, int(key))
        if found is not None and counselors.removed_at(conn, found.id) is None:
            return found
    else:
        found = counselors.by_name(conn, key)
        if found is not None:
            return found
        many = len(counselors.ids_named(conn, key))
        if many > 1:
            raise Refused(f"{many} counselors are named {key!r}; remove one by its id "
                          "(see `lk3 counselor list`).")
    raise Refused(f"No counselor {key!r}; `lk3 counselor list` shows names and ids.", 1)


def family_catalog() -> Catalog:
    return load_catalog(FLOWS_DIR / "catalog")


def remove(db: Engine, who: str) -> int:
    """Remove a counselor; the cases they hold go back to the queue, in their old place."""
    now = utcnow()
    try:
        with db.begin() as conn:
            person = _find(conn, who)
            held = staffops.remove(conn, person.id, now, CLI, family_catalog())
    except Refused as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return exc.status
    print(f"removed counselor {person.id}: {person.name}")
    if held:
        print(f"back in the queue: {', '.join(c.number for c in held)}")
    return 0


def invite(db: Engine, role: str, name: str | None) -> int:
    name = " ".join(name.split()) if name else None
    with db.begin() as conn:
        code = counselors.create_invite(conn, role, utcnow(), name or None)
    who = f" for {name}" if name else ""
    print(f"invite code{who} ({role}): {code}")
    print(f"Send `/daftar {code}` (or `/register {code}`) to the bot from the counselor's own "
          f"Telegram or WhatsApp; the code works once, within {INVITE_VALID.days} days.")
    return 0


def _read_password(stdin: TextIO | None) -> str:
    """From the first line of stdin (--password-stdin), or asked twice at the terminal."""
    if stdin is not None:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New console password: ")
    if getpass.getpass("Again: ") != first:
        raise Refused("The two passwords differ; nothing changed.", 1)
    return first


def passwd(db: Engine, who: str, stdin: TextIO | None = None) -> int:
    """Set a counselor's console password; their console sessions end."""
    from bot.console.passwords import default, weak

    try:
        with db.connect() as conn:
            person = _find(conn, who)
        password = _read_password(stdin)
        problem = weak(password)
        if problem:
            raise Refused(f"Refused: {problem}; nothing changed.", 1)
        hashed = default().hash(password)
        with db.begin() as conn:
            staffauth.set_password_hash(conn, person.id, hashed, utcnow())
            write_rows(conn, [EventRow(None, None, CLI, "password_set",
                                       {"counselor_id": person.id}, utcnow())])
            login = staffauth.login_name(conn, person.id)
    except Refused as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return exc.status
    print(f"console password set for {person.name} (id {person.id}); username: {login}; "
          "their console sessions were ended.")
    return 0


def passwd_command(db: Engine, args: Any) -> int:
    """`lk3 counselor passwd NAME_OR_ID [--password-stdin]`."""
    if not args.who:
        print("lk3: `lk3 counselor passwd` needs a name or id.", file=sys.stderr)
        return 2
    return passwd(db, args.who, sys.stdin if args.password_stdin else None)
