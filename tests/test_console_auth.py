"""Console sign-in and what keeps it safe: argon2 passwords, throttling, sessions in the
database (cookie flags, idle and absolute expiry on the injected clock, rotation, revocation),
cross-site requests refused, a strict Content-Security-Policy."""

from __future__ import annotations

import io
import re
from typing import Literal

from argon2 import Parameters, PasswordHasher, extract_parameters
from sqlalchemy import select

from bot.cli import counselorcli
from bot.console.core import COOKIE
from bot.console.passwords import Passwords
from bot.console.security import CSP
from bot.service import Service
from storage import counselors, queue, staffauth
from storage.models import CaseEvent, ConsoleSession
from tests.support import FrozenClock
from tests.test_console_support import (
    PASSWORD,
    SITE,
    add_staff,
    client,
    console_app,
    family_case,
    sign_in,
)


async def test_sign_in_sets_a_strict_cookie_holding_only_a_random_id(
        service: Service, clock: FrozenClock) -> None:
    """A right password opens the queue; the cookie is HttpOnly, SameSite=Strict, Secure on
    https, scoped to /console, and the database keeps only a hash of its id."""
    add_staff(service.db, "Sari Wenda", clock())
    async with client(console_app(service)) as http:
        r = await sign_in(http, "sari wenda")
        assert r.status_code == 303 and r.headers["location"] == "/console/queue"
        cookie = r.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/console"):
            assert flag.lower() in cookie.lower(), cookie
        token = http.cookies[COOKIE]
        assert "sari" not in token.lower() and len(token) >= 40
        page = await http.get("/console/queue")
        assert page.status_code == 200 and "Sari Wenda" in page.text
    with service.db.connect() as conn:
        ids = conn.execute(select(ConsoleSession.id_hash)).scalars().all()
        logins = conn.execute(select(CaseEvent.kind).where(
            CaseEvent.kind == "console_login")).scalars().all()
    assert len(ids) == 1 and token not in ids
    assert logins == ["console_login"]


async def test_no_password_unknown_user_or_wrong_password_are_refused_alike(
        service: Service, clock: FrozenClock) -> None:
    """A counselor without a console password cannot sign in; a wrong password and an unknown
    username get the same answer."""
    add_staff(service.db, "Budi", clock(), password=None)
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        answers = [await sign_in(http, "budi"), await sign_in(http, "sari", "salah-salah-1"),
                   await sign_in(http, "nobody")]
        assert [r.status_code for r in answers] == [401, 401, 401]
        assert "Nama pengguna atau kata sandi salah." in answers[0].text
        assert len({r.text.replace("budi", "X").replace("sari", "X").replace("nobody", "X")
                    for r in answers}) == 1
        assert COOKIE not in http.cookies
        assert (await http.get("/console/queue")).headers["location"] == "/console/login"


class CountingHasher(PasswordHasher):
    """argon2-cffi's own hasher, noting the parameters of every hash it verifies against:
    argon2's work is fixed by them, so equal parameters are equal time, with no clock."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        super().__init__(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self.verified: list[Parameters] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(extract_parameters(hash if isinstance(hash, str) else
                                                hash.decode()))
        return super().verify(hash, password)


async def test_unknown_and_known_usernames_are_refused_with_the_same_work(
        service: Service, clock: FrozenClock) -> None:
    """An unknown username, and a staff member with no password yet, are checked against a
    dummy hash of the same cost as a real one: refusing them is one argon2 verification
    with the same parameters as refusing a wrong password, so it takes as long (counted,
    not timed)."""
    hasher = CountingHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    passwords = Passwords(hasher)
    add_staff(service.db, "Budi", clock(), password=None)
    with service.db.begin() as conn:
        cid = counselors.add(conn, name="Sari", role="counselor", now=clock())
        staffauth.set_password_hash(conn, cid, passwords.hash(PASSWORD), clock())
    app = console_app(service, passwords)
    async with client(app) as http:
        for username in ("sari", "ghost", "budi"):
            clock.advance(minutes=16)  # stay under the throttle
            before = len(hasher.verified)
            r = await sign_in(http, username, "wrong-password-1")
            assert r.status_code == 401
            assert len(hasher.verified) == before + 1, username  # one verification each
    known, unknown, unset = hasher.verified
    assert unknown == known and unset == known
    assert known.time_cost == 2 and known.memory_cost == 16 * 1024


async def test_repeated_failures_throttle_the_account_then_pass(
        service: Service, clock: FrozenClock) -> None:
    """After 5 failures in 15 minutes even the right password is refused (429); 15 minutes
    later it works again."""
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        for _ in range(5):
            assert (await sign_in(http, "sari", "tebak-tebak-1")).status_code == 401
        r = await sign_in(http, "sari")
        assert r.status_code == 429 and "Terlalu banyak percobaan" in r.text
        clock.advance(minutes=15, seconds=1)
        assert (await sign_in(http, "sari")).status_code == 303


async def test_many_failures_from_one_address_throttle_every_username(
        service: Service, clock: FrozenClock) -> None:
    """Twenty failures from one address, over many usernames, stop that address (429)."""
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        for n in range(20):
            assert (await sign_in(http, f"user{n}", "x" * 12)).status_code == 401
        assert (await sign_in(http, "sari")).status_code == 429


async def test_sign_out_makes_the_cookie_useless(service: Service, clock: FrozenClock) -> None:
    """After sign-out, the same cookie value sent again opens nothing."""
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        token = http.cookies[COOKIE]
        r = await http.post("/console/logout")
        assert r.status_code == 303 and r.headers["location"] == "/console/login"
    async with client(console_app(service)) as replay:
        replay.cookies.set(COOKIE, token, path="/console")
        r = await replay.get("/console/queue")
        assert r.status_code == 303 and r.headers["location"] == "/console/login"


async def test_sessions_end_after_30_idle_minutes_and_after_10_hours(
        service: Service, clock: FrozenClock) -> None:
    """Activity keeps a session open, 31 minutes without ends it; and however active, it ends
    10 hours after sign-in."""
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        clock.advance(minutes=29)
        assert (await http.get("/console/queue")).status_code == 200
        clock.advance(minutes=31)
        assert (await http.get("/console/queue")).status_code == 303
        await sign_in(http, "sari")
        for _ in range(30):  # every 20 minutes, up to 10 hours after signing in
            clock.advance(minutes=20)
            assert (await http.get("/console/queue")).status_code == 200
        clock.advance(minutes=1)
        r = await http.get("/console/queue")
        assert r.status_code == 303 and r.headers["location"] == "/console/login"


async def test_sign_in_rotates_the_session_id(service: Service, clock: FrozenClock) -> None:
    """Signing in again gives a new id, and the id the browser had before stops working."""
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        first = http.cookies[COOKIE]
        await sign_in(http, "sari")
        second = http.cookies[COOKIE]
    assert first != second
    with service.db.connect() as conn:
        assert staffauth.revoked_at(conn, first) == clock()
        assert staffauth.revoked_at(conn, second) is None


async def test_password_or_role_change_ends_sessions(service: Service,
                                                     clock: FrozenClock) -> None:
    """`lk3 counselor passwd` and a role change end the person's open console sessions."""
    cid = add_staff(service.db, "Sari", clock())
    app = console_app(service)
    async with client(app) as http:
        await sign_in(http, "sari")
        assert counselorcli.passwd(service.db, "Sari", io.StringIO("a-new-password-42\n")) == 0
        assert (await http.get("/console/queue")).status_code == 303
        assert (await sign_in(http, "sari")).status_code == 401  # the old password is gone
        assert (await sign_in(http, "sari", "a-new-password-42")).status_code == 303
        with service.db.begin() as conn:
            staffauth.set_role(conn, cid, "supervisor", clock())
        assert (await http.get("/console/queue")).status_code == 303


async def test_cross_site_posts_are_refused(service: Service, clock: FrozenClock) -> None:
    """A POST from another site (Sec-Fetch-Site cross-site, a foreign Origin, or no Origin at
    all) is refused with 403 and changes nothing; our own pages' POSTs pass."""
    add_staff(service.db, "Sari", clock())
    case = await family_case(service, "fam-csrf", "P2")
    app = console_app(service)
    async with client(app) as http:
        await sign_in(http, "sari")
        take = {"number": case.number}
        evil = "https://evil.example"
        assert (await http.post("/console/take", data=take,
                                headers={"Sec-Fetch-Site": "cross-site"})).status_code == 403
        assert (await http.post("/console/take", data=take,
                                headers={"Origin": evil})).status_code == 403
        del http.headers["Origin"]
        assert (await http.post("/console/take", data=take)).status_code == 403
        assert (await http.post("/console/login", data={"username": "sari", "password": PASSWORD},
                                headers={"Origin": evil})).status_code == 403
        with service.db.connect() as conn:
            assert queue.by_id(conn, case.id).status == "waiting"  # type: ignore[union-attr]
        r = await http.post("/console/take", data=take, headers={"Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 303 and r.headers["location"] == f"/console/cases/{case.number}"


async def test_every_page_has_a_strict_policy_and_loads_nothing_from_elsewhere(
        service: Service, clock: FrozenClock) -> None:
    """Sign-in, queue and case pages carry the CSP and no-store; every src/href is our own."""
    add_staff(service.db, "Sari", clock())
    case = await family_case(service, "fam-csp", "P3")
    async with client(console_app(service)) as http:
        pages = [await http.get("/console/login")]
        await sign_in(http, "sari")
        await http.post("/console/take", data={"number": case.number})
        pages += [await http.get("/console/queue"), await http.get(f"/console/cases/{case.number}")]
    for page in pages:
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-frame-options"] == "DENY"
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', page.text):
            assert url.startswith("/console/") or url.startswith(SITE), url
        assert "<script>" not in page.text and " style=" not in page.text
