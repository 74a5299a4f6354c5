"""/console/staff: staff accounts for admins: add, role, duty, reset password, remove. The
same operations as `lk3 counselor` (bot.casework.staffops, storage.staffauth): a new
password or role ends the person's console sessions; removal puts their cases back in the
queue. Each change is an audit event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from bot.casework import staffops
from bot.console.core import Console, Staff, to, to_login
from bot.console.passwords import weak
from storage import counselors, staffauth
from storage.counselors import ROLES


def _admin(console: Console, conn: Connection, request: Request) -> Staff | Response:
    who = console.signed_in(conn, request)
    if who is None:
        return to_login()
    if who.me.role != "admin":
        return console.forbidden(conn, who, who.words.t("staff.forbidden"),
                                 page=request.url.path)
    return who


def _page(console: Console, request: Request) -> Response:
    with console.writing() as conn:
        who = _admin(console, conn, request)
        if not isinstance(who, Staff):
            return who
        people = []
        for c in counselors.active(conn):
            login = staffauth.login_name(conn, c.id)
            found = staffauth.find_login(conn, login)
            people.append({"row": c, "login": login, "holding": counselors.open_cases(conn, c.id),
                           "has_password": bool(found and found.password_hash)})
        notice = console.take_flash(conn, who)
    return console.render("staff.html", who, people=people, roles=ROLES, notice=notice)


async def staff_page(console: Console, request: Request) -> Response:
    return await console.run(_page, console, request)


def _add(console: Console, request: Request, form: dict[str, str]) -> Response:
    now = console.now()
    name = " ".join(form.get("name", "").split())
    username = form.get("username", "").strip() or None
    role = form.get("role", "")
    password = form.get("password", "")
    hashed = console.passwords.hash(password) if password and not weak(password) else None
    with console.writing() as conn:  # argon2 above, outside the write transaction
        who = _admin(console, conn, request)
        if not isinstance(who, Staff):
            return who
        problem = "role_invalid" if role not in ROLES else \
            staffops.new_account_problem(conn, name, username) or \
            ("password_weak" if password and weak(password) else None)
        if problem:
            console.flash(conn, who, who.words.t(f"staff.{problem}"))
            return to("/staff")
        cid = counselors.add(conn, name=name, role=role, now=now)
        if username:
            staffauth.set_username(conn, cid, username)
        if hashed:
            staffauth.set_password_hash(conn, cid, hashed, now)
        console.audit(conn, who, "staff_add", counselor_id=cid, role=role)
        console.flash(conn, who, who.words.t("staff.added", name=name,
                                             login=staffauth.login_name(conn, cid)))
    return to("/staff")


def _change(console: Console, request: Request, person_id: int, what: str,
            form: dict[str, str]) -> Response:
    now = console.now()
    password = form.get("password", "")
    if what == "password" and not weak(password):  # argon2 outside the write transaction
        form = {**form, "hashed": console.passwords.hash(password)}
    with console.writing() as conn:
        who = _admin(console, conn, request)
        if not isinstance(who, Staff):
            return who
        person = counselors.get(conn, person_id)
        if person is None or counselors.removed_at(conn, person_id) is not None:
            return console.render("error.html", who, status=404,
                                  message=who.words.t("staff.unknown"))
        said = _apply(console, conn, who, person, what, form, now)
        console.flash(conn, who, said)
    return to("/staff")


def _apply(console: Console, conn: Connection, who: Staff, person: counselors.CounselorRow,
           what: str, form: dict[str, str], now: Any) -> str:
    t = who.words.t
    if what == "role":
        role = form.get("role", "")
        if role not in ROLES:
            return t("staff.role_invalid")
        staffauth.set_role(conn, person.id, role, now)
        console.audit(conn, who, "staff_role", counselor_id=person.id, role=role)
        return t("staff.role_set", name=person.name, role=t(f"role.{role}"))
    if what == "duty":
        on = form.get("on") == "1"
        counselors.set_duty(conn, person.id, on)
        console.audit(conn, who, "duty", counselor_id=person.id, on=on)
        return t("staff.duty_set", name=person.name)
    if what == "password":
        if "hashed" not in form:
            return t("staff.password_weak")
        staffauth.set_password_hash(conn, person.id, form["hashed"], now)
        console.audit(conn, who, "password_set", counselor_id=person.id)
        return t("staff.password_set", name=person.name)
    if person.id == who.me.id:
        return t("staff.not_yourself")
    held = staffops.remove(conn, person.id, now, f"counselor:{who.me.id}",
                           console.service.flows.bundle.catalog)
    console.audit(conn, who, "staff_remove", counselor_id=person.id, released=len(held))
    return t("staff.removed", name=person.name, count=len(held))


async def add(console: Console, request: Request) -> Response:
    form = {k: str(v)[:200] for k, v in (await request.form()).items()}
    return await console.run(_add, console, request, form)


async def change(console: Console, request: Request) -> Response:
    what = request.path_params["what"]
    person = request.path_params["person"]
    if what not in ("role", "duty", "password", "remove") or not person.isdigit():
        return Response(status_code=404)
    form = {k: str(v)[:200] for k, v in (await request.form()).items() if k != "hashed"}
    return await console.run(_change, console, request, int(person), what, form)
