"""What every console page shares: the service, sign-in sessions, templates, responses.

The session cookie holds only a random id (bot/storage.staffauth keeps its hash): HttpOnly,
SameSite=Strict, Path=/console, Secure when PUBLIC_BASE_URL is https. A session ends after
30 idle minutes, 10 hours after sign-in, at sign-out, and when the person's password or role
changes. Time comes from the service's clock, so tests move it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.casework import labels
from bot.console.passwords import Passwords, default
from bot.console.texts import Words
from bot.pipeline import wake
from bot.service import Service
from storage import counselors, staffauth
from storage.counselors import CounselorRow
from storage.rows import EventRow, write_rows

COOKIE = "lk3_console"
PREFIX = "/console"
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=10)
TEMPLATES = Path(__file__).with_name("templates")
T = TypeVar("T")


@dataclass(frozen=True)
class Staff:
    """The signed-in person of a request."""

    me: CounselorRow
    session: staffauth.Session
    words: Words

    @property
    def lang(self) -> str:
        return self.words.lang


class Console:
    def __init__(self, service: Service, passwords: Passwords | None = None) -> None:
        self.service = service
        self._passwords = passwords
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals["wit"] = labels.wit
        base = service.settings.public_base_url or ""
        self.secure = base.startswith("https://")

    @property
    def passwords(self) -> Passwords:
        if self._passwords is None:
            self._passwords = default()
        return self._passwords

    def now(self) -> datetime:
        return self.service.clock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Database work (and argon2) in a thread, never on the event loop."""
        return await run_in_threadpool(fn, *args)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.service.db.begin() as conn:
            yield conn

    def signed_in(self, conn: Connection, request: Request) -> Staff | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = staffauth.live_session(conn, token, self.now(), IDLE, ABSOLUTE)
        me = None if session is None else counselors.get(conn, session.counselor_id)
        if session is None or me is None:
            return None
        return Staff(me, session, Words(staffauth.language_of(conn, me.id)))

    def flash(self, conn: Connection, who: Staff, text: str | None) -> None:
        staffauth.set_flash(conn, who.session.id_hash, text)

    def take_flash(self, conn: Connection, who: Staff) -> str | None:
        if who.session.flash is not None:
            staffauth.set_flash(conn, who.session.id_hash, None)
        return who.session.flash

    def audit(self, conn: Connection, who: Staff, kind: str, case_id: int | None = None,
              **data: Any) -> None:
        """One audit row of what this person did or tried in the console."""
        write_rows(conn, [EventRow(case_id, None, f"counselor:{who.me.id}", kind, data,
                                   self.now())])

    def forbidden(self, conn: Connection, who: Staff, message: str,
                  case_id: int | None = None, **data: Any) -> HTMLResponse:
        """403 in words, the attempt recorded."""
        self.audit(conn, who, "console_forbidden", case_id, **data)
        return self.render("error.html", who, status=403, message=message)

    def render(self, template: str, who: Staff | None, status: int = 200,
               **context: Any) -> HTMLResponse:
        words = who.words if who else Words(context.pop("lang", "id"))
        html = self.env.get_template(template).render(
            t=words.t, s=words.s, words=words, who=who, prefix=PREFIX, **context)
        return HTMLResponse(html, status_code=status)

    def set_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(COOKIE, token, max_age=int(ABSOLUTE.total_seconds()),
                            path=PREFIX, httponly=True, samesite="strict", secure=self.secure)

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict",
                               secure=self.secure)


def to(path: str) -> RedirectResponse:
    """After a form: see the page (303, so a reload does not post again)."""
    return RedirectResponse(f"{PREFIX}{path}", status_code=303)


def to_login() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/login", status_code=303)


def outbox_written() -> None:
    """Rows for the relay were committed: wake it now rather than at its next poll."""
    wake.OUTBOX.ring()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"
