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

from bot.casework import labels, staff, staffops
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
        raise Refused(staff.text("staffcli.bad_whatsapp", number=repr(number)))
    return f"whatsapp:{raw}"


def _accounts(telegram_id: str | None, whatsapp: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if telegram_id is not None:
        tid = telegram_id.strip()
        if not _TELEGRAM_ID.fullmatch(tid):
            raise Refused(staff.text("staffcli.bad_telegram", value=repr(telegram_id)))
        out.append(("telegram", tid))
    if whatsapp is not None:
        out.append(("whatsapp", whatsapp_account(whatsapp)))
    return out


def _describe(channel: str, user: str) -> str:
    kind = channel if channel in ("telegram", "whatsapp") else "other"
    return staff.text(f"staffcli.account.{kind}", channel=channel,
                      user=user.removeprefix("whatsapp:"))


def _check_username(conn: Connection, name: str, username: str | None) -> None:
    """The console sign-in name (the username, else the name) must name one person."""
    if username is not None and not staffops.USERNAME.fullmatch(username):
        raise Refused(staff.text("staffcli.bad_username", username=repr(username)))
    login = username or name
    if staffauth.username_taken(conn, login):
        raise Refused(staff.text("staffcli.username_taken", login=repr(login.lower())))


def _check_new(conn: Connection, name: str, accounts: list[tuple[str, str]]) -> None:
    taken = counselors.by_account(conn, accounts)
    for (channel, user), cid in taken.items():
        owner = counselors.get(conn, cid)
        who = f"{owner.name} (id {owner.id})" if owner else f"id {cid}"
        raise Refused(staff.text("staffcli.account_taken", account=_describe(channel, user),
                                 who=who))
    same = counselors.ids_named(conn, name)
    if same:
        raise Refused(staff.text("staffcli.name_taken", name=repr(name), id=same[0]))


def add(db: Engine, *, name: str, role: str, capacity: int, telegram_id: str | None,
        whatsapp: str | None, username: str | None = None) -> int:
    name = " ".join(name.split())
    try:
        if not name:
            raise Refused(staff.text("staffcli.name_empty"))
        if capacity < 1:
            raise Refused(staff.text("staffcli.capacity_low"))
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
            raise Refused(staff.text("staffcli.account_race")) from None
    except Refused as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return exc.status
    reach = ", ".join(_describe(c, u) for c, u in accounts) or staff.text("staffcli.no_account")
    print(staff.text("staffcli.added", id=cid, name=name, role=labels.word("role", role),
                     capacity=capacity, reach=reach))
    print(staff.text("staffcli.console_login", login=(username or name).lower(), id=cid))
    return 0


def rows(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for c in counselors.active(conn):
        out.append({
            "id": c.id, "name": c.name, "role": c.role, "on_duty": bool(c.on_duty),
            "capacity": c.capacity, "open_cases": counselors.open_cases(conn, c.id),
            "accounts": [{"channel": a.channel, "id": a.user}
                         for a in counselors.accounts_of(conn, c.id)],
        })
    return out


def list_counselors(db: Engine, as_json: bool) -> int:
    with db.connect() as conn:
        found = rows(conn)
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print(staff.text("staffcli.none"))
        return 0
    head = [staff.text(f"staffcli.column.{k}")
            for k in ("id", "name", "role", "duty", "capacity", "open", "accounts")]
    cells = [[str(c["id"]), c["name"], labels.word("role", c["role"]),
              labels.word("yesno", "true" if c["on_duty"] else "false"), str(c["capacity"]),
              str(c["open_cases"]),
              ", ".join(f"{a['channel']}:{a['id'].removeprefix('whatsapp:')}"
                        for a in c["accounts"]) or "-"] for c in found]
    widths = [max(len(row[i]) for row in (head, *cells)) for i in range(len(head))]
    for row in (head, *cells):
        print(" ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
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
            raise Refused(staff.text("staffcli.many_named", many=many, name=repr(key)))
    raise Refused(staff.text("staffcli.not_found", name=repr(key)), 1)


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
    print(staff.text("staffcli.removed", id=person.id, name=person.name))
    if held:
        print(staff.text("staffcli.back_in_queue", numbers=", ".join(c.number for c in held)))
    return 0


def invite(db: Engine, role: str, name: str | None) -> int:
    name = " ".join(name.split()) if name else None
    with db.begin() as conn:
        code = counselors.create_invite(conn, role, utcnow(), name or None)
    word = labels.word("role", role)
    print(staff.text("staffcli.invite_for", name=name, role=word, code=code) if name
          else staff.text("staffcli.invite", role=word, code=code))
    print(staff.text("staffcli.invite_how", code=code, days=INVITE_VALID.days))
    return 0


def _read_password(stdin: TextIO | None) -> str:
    """From the first line of stdin (--password-stdin), or asked twice at the terminal."""
    if stdin is not None:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass(staff.text("staffcli.password_prompt"))
    if getpass.getpass(staff.text("staffcli.password_again")) != first:
        raise Refused(staff.text("staffcli.passwords_differ"), 1)
    return first


def passwd(db: Engine, who: str, stdin: TextIO | None = None) -> int:
    """Set a counselor's console password; their console sessions end."""
    from bot.console.passwords import MIN_LENGTH, default, weak

    try:
        with db.connect() as conn:
            person = _find(conn, who)
        password = _read_password(stdin)
        if weak(password):
            raise Refused(staff.text("staffcli.password_weak", length=MIN_LENGTH), 1)
        hashed = default().hash(password)
        with db.begin() as conn:
            staffauth.set_password_hash(conn, person.id, hashed, utcnow())
            write_rows(conn, [EventRow(None, None, CLI, "password_set",
                                       {"counselor_id": person.id}, utcnow())])
            login = staffauth.login_name(conn, person.id)
    except Refused as exc:
        print(f"lk3: {exc}", file=sys.stderr)
        return exc.status
    print(staff.text("staffcli.password_set", name=person.name, id=person.id, login=login))
    return 0


def passwd_command(db: Engine, args: Any) -> int:
    """`lk3 counselor passwd NAME_OR_ID [--password-stdin]`."""
    if not args.who:
        print("lk3: " + staff.text("staffcli.needs_who", command="passwd"), file=sys.stderr)
        return 2
    return passwd(db, args.who, sys.stdin if args.password_stdin else None)
