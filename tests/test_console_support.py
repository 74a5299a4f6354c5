"""Helpers for the console tests (no tests here): the app with the console mounted, staff with
passwords, families with cases, and a browser-like HTTP client."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import httpx
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy import Engine, select
from starlette.applications import Starlette

from bot.config import Settings
from bot.console.app import mount
from bot.console.passwords import Passwords
from bot.service import Service
from storage import counselors, queue, staffauth
from storage.models import Contact
from storage.queue import CaseView
from tests.test_day_of_work import P0, P1, P2, P3
from tests.test_handoff import Person

SITE = "https://lk3.mimika.example.go.id"
PASSWORD = "kopi-papua-2026"
PATHS = {"P0": P0, "P1": P1, "P2": P2, "P3": P3}
CHEAP = Passwords(PasswordHasher.from_parameters(CHEAPEST))


def console_app(service: Service, passwords: Passwords = CHEAP) -> Starlette:
    """The console as `lk3 serve` mounts it, on a service whose public address is https."""
    service.settings = Settings.model_validate({
        "DATABASE_URL": service.db.url.render_as_string(False), "PUBLIC_BASE_URL": SITE})
    return Starlette(routes=[mount(service, passwords)])


def add_staff(db: Engine, name: str, now: datetime, role: str = "counselor", *,
              password: str | None = PASSWORD, telegram: str | None = None,
              username: str | None = None, channel: str = "test") -> int:
    """A staff member with a console password; `telegram`: their chat on `channel`."""
    with db.begin() as conn:
        cid = counselors.add(conn, name=name, role=role, now=now,
                             accounts=[(channel, telegram)] if telegram else [])
        if username:
            staffauth.set_username(conn, cid, username)
        if password:
            staffauth.set_password_hash(conn, cid, CHEAP.hash(password), now)
    return cid


def client(app: Starlette, **headers: str) -> httpx.AsyncClient:
    """A browser on our site: its POSTs carry our Origin (as browsers do)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE,
                             headers={"Origin": SITE, **headers})


async def sign_in(http: httpx.AsyncClient, username: str,
                  password: str = PASSWORD) -> httpx.Response:
    return await http.post("/console/login", data={"username": username, "password": password})


async def family_case(service: Service, user: str, priority: str = "P1") -> CaseView:
    """A family who went through the intake to a waiting case of `priority` (in a thread:
    the pipeline's helpers run their own event loop)."""
    return await asyncio.to_thread(intake_case, service, user, priority)


def intake_case(service: Service, user: str, priority: str = "P1") -> CaseView:
    family = Person(service, user)
    for words in PATHS[priority]:
        family.say(words)
    with service.db.connect() as conn:
        contact = conn.execute(select(Contact.id).where(
            Contact.provider_user_id == user)).scalar_one()
        found = [c for c in queue.waiting(conn, 100) if c.contact_id == contact]
    assert found and found[0].priority == priority, found
    return found[0]


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
