"""Signing in and out of the console, and the console's language.

A sign-in is refused for a while after 5 failures for one username, or 20 from one address,
within 15 minutes (429), before any password is checked. The password is checked with argon2
in a thread, outside any database transaction; an unknown username is checked against a
dummy hash, so it is refused in the same time as a wrong password. A success opens a new
session (a session id the browser had before is revoked: the id rotates at sign-in).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from bot.console.core import COOKIE, Console, client_address, to, to_login
from bot.console.texts import Words
from storage import staffauth
from storage.rows import EventRow, write_rows

WINDOW = timedelta(minutes=15)
MAX_PER_USERNAME = 5
MAX_PER_ADDRESS = 20


def _event(counselor_id: int, kind: str, now: datetime, **data: object) -> EventRow:
    return EventRow(None, None, f"counselor:{counselor_id}", kind, data, now)


def attempt(console: Console, username: str, password: str, address: str, agent: str,
            old: str | None) -> str | None:
    """A new session id, None when refused; raises Throttled when there were too many."""
    now = console.now()
    with console.writing() as conn:
        by_name, by_address = staffauth.failures(conn, username, address, now - WINDOW)
        if by_name >= MAX_PER_USERNAME or by_address >= MAX_PER_ADDRESS:
            raise Throttled
        login = staffauth.find_login(conn, username)
    stored = login.password_hash if login else None
    ok = console.passwords.check(stored, password)
    with console.writing() as conn:
        if not ok or login is None or stored is None:
            staffauth.record_failure(conn, username, address, now)
            return None
        if old:
            staffauth.revoke(conn, old, now)
        token = staffauth.open_session(conn, login.counselor_id, now, address, agent)
        staffauth.clear_failures(conn, username, now - WINDOW)
        if console.passwords.needs_rehash(stored):
            staffauth.set_password_hash(conn, login.counselor_id,
                                        console.passwords.hash(password), now, revoke=False)
        write_rows(conn, [_event(login.counselor_id, "console_login", now, address=address)])
    return token


class Throttled(Exception):
    """Too many failed sign-ins for this username or from this address, just now."""


async def login_page(console: Console, request: Request) -> Response:
    lang = request.query_params.get("lang", "id")
    return console.render("login.html", None, lang=lang, error=None, username="")


async def login(console: Console, request: Request) -> Response:
    form = await request.form()
    username = " ".join(str(form.get("username") or "").split())[:80]
    password = str(form.get("password") or "")[:1024]
    agent = request.headers.get("user-agent", "")
    words = Words(request.query_params.get("lang", "id"))
    try:
        token = await console.run(attempt, console, username, password,
                                  client_address(request), agent, request.cookies.get(COOKIE))
    except Throttled:
        return console.render("login.html", None, status=429, lang=words.lang,
                              error=words.t("login.throttled"), username=username)
    if token is None:
        return console.render("login.html", None, status=401, lang=words.lang,
                              error=words.t("login.refused"), username=username)
    response = to("/queue")
    console.set_cookie(response, token)
    return response


def _logout(console: Console, token: str | None) -> None:
    if not token:
        return
    with console.writing() as conn:
        staffauth.revoke(conn, token, console.now())


async def logout(console: Console, request: Request) -> Response:
    await console.run(_logout, console, request.cookies.get(COOKIE))
    response = to_login()
    console.clear_cookie(response)
    return response


def _set_language(console: Console, request: Request, language: str) -> bool:
    with console.writing() as conn:
        who = console.signed_in(conn, request)
        if who is None:
            return False
        staffauth.set_language(conn, who.me.id, language)
    return True


async def language(console: Console, request: Request) -> Response:
    form = await request.form()
    chosen = "en" if form.get("language") == "en" else "id"
    if not await console.run(_set_language, console, request, chosen):
        return to_login()
    back = str(form.get("back") or "/queue")
    return to(back if back.startswith("/") and not back.startswith("//") else "/queue")
