"""The admin's staff page: add (with a console username and password), role, duty, reset
password, remove; role and password changes end sessions; removal puts cases back in the
queue; only admins see it."""

from __future__ import annotations

from sqlalchemy import select

from bot.console.core import COOKIE
from bot.service import Service
from storage import counselors, queue
from storage.models import CaseEvent
from tests.support import FrozenClock
from tests.test_console_support import add_staff, client, console_app, family_case, sign_in


async def test_admin_adds_staff_who_can_then_sign_in(service: Service,
                                                     clock: FrozenClock) -> None:
    """An added staff member signs in with the username and password the admin gave; a
    duplicate name is refused in words."""
    add_staff(service.db, "Admin Dinsos", clock(), role="admin", username="admin")
    app = console_app(service)
    async with client(app) as http:
        await sign_in(http, "admin")
        r = await http.post("/console/staff", data={
            "name": "Yosep Wanma", "role": "counselor", "username": "yosep",
            "password": "burung-cenderawasih"})
        assert r.status_code == 303
        page = await http.get("/console/staff")
        assert "Yosep Wanma ditambahkan; nama pengguna: yosep." in page.text
        await http.post("/console/staff", data={"name": "yosep wanma", "role": "counselor"})
        assert "Sudah ada petugas dengan nama itu" in (await http.get("/console/staff")).text
    async with client(app) as yosep:
        assert (await sign_in(yosep, "yosep", "burung-cenderawasih")).status_code == 303


async def test_role_and_password_changes_end_the_persons_sessions(
        service: Service, clock: FrozenClock) -> None:
    """A new role or a reset password from the admin ends the person's console session; the
    new password works."""
    add_staff(service.db, "Admin", clock(), role="admin")
    sari = add_staff(service.db, "Sari", clock())
    app = console_app(service)
    async with client(app) as admin, client(app) as http:
        await sign_in(admin, "admin")
        await sign_in(http, "sari")
        await admin.post(f"/console/staff/{sari}/role", data={"role": "supervisor"})
        assert (await http.get("/console/queue")).status_code == 303
        await sign_in(http, "sari")
        assert "Laporan" in (await http.get("/console/queue")).text  # now a supervisor
        await admin.post(f"/console/staff/{sari}/password", data={"password": "baru-sekali-77"})
        assert (await http.get("/console/queue")).status_code == 303
        assert (await sign_in(http, "sari", "baru-sekali-77")).status_code == 303
        await admin.post(f"/console/staff/{sari}/duty", data={"on": "1"})
    with service.db.connect() as conn:
        person = counselors.get(conn, sari)
        kinds = conn.execute(select(CaseEvent.kind).where(
            CaseEvent.actor.like("counselor:%"), CaseEvent.kind.like("staff_%"))).scalars().all()
    assert person is not None and person.role == "supervisor" and person.on_duty
    assert kinds == ["staff_role"]


async def test_removal_puts_cases_back_and_locks_the_person_out(
        service: Service, clock: FrozenClock) -> None:
    """A removed counselor's held case is waiting again, and their session opens nothing."""
    case = await family_case(service, "fam-rm", "P2")
    add_staff(service.db, "Admin", clock(), role="admin")
    sari = add_staff(service.db, "Sari", clock())
    app = console_app(service)
    async with client(app) as admin, client(app) as http:
        await sign_in(http, "sari")
        await http.post("/console/take", data={"number": case.number})
        await sign_in(admin, "admin")
        await admin.post(f"/console/staff/{sari}/remove")
        assert "1 kasus kembali ke antrean" in (await admin.get("/console/staff")).text
        assert COOKIE in http.cookies
        assert (await http.get("/console/queue")).status_code == 303
        assert (await sign_in(http, "sari")).status_code == 401
    with service.db.connect() as conn:
        assert queue.by_id(conn, case.id).status == "waiting"  # type: ignore[union-attr]


async def test_only_admins_manage_staff(service: Service, clock: FrozenClock) -> None:
    """A supervisor gets 403 on the staff page and its forms."""
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    budi = add_staff(service.db, "Budi", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        assert (await http.get("/console/staff")).status_code == 403
        r = await http.post(f"/console/staff/{budi}/role", data={"role": "admin"})
        assert r.status_code == 403
    with service.db.connect() as conn:
        assert counselors.get(conn, budi).role == "counselor"  # type: ignore[union-attr]


async def test_the_admin_keeps_accounts_and_works_no_cases(service: Service,
                                                           clock: FrozenClock) -> None:
    """Walk V-3: the admin was a supervisor in all but name: paged for a new P1 case, able
    to open its page, offered first as whom to hand a case to, and named to a family as its
    counselor. README: admins keep staff accounts. Not paged, not let in, not a target."""
    import asyncio

    from tests.test_handoff import Person

    add_staff(service.db, "Admin Dinsos", clock(), role="admin", username="admin",
              telegram="adm")
    sari = add_staff(service.db, "Sari", clock(), username="sari", telegram="sari")
    with service.db.begin() as conn:
        for cid in (sari, counselors.by_name(conn, "Admin Dinsos").id):  # type: ignore[union-attr]
            counselors.set_duty(conn, cid, True)
        assert counselors.roster(conn).on_duty == (sari,)
        assert counselors.roster(conn).supervisors == ()
    case = await family_case(service, "fam", "P1")
    admin_chat, sari_chat = Person(service, "adm"), Person(service, "sari")
    assert await asyncio.to_thread(admin_chat.unread) == []  # only Sari is paged
    assert await asyncio.to_thread(sari_chat.unread)
    app = console_app(service)
    async with client(app) as http:
        await sign_in(http, "admin")
        page = await http.get(f"/console/cases/{case.number}")
        assert page.status_code == 403 and "fam" not in page.text
    await asyncio.to_thread(sari_chat.say, f"/ambil {case.number}")
    refused = await asyncio.to_thread(sari_chat.say, "/alihkan Admin Dinsos")
    assert "bukan petugas kasus" in refused[0], refused
    async with client(app) as http:
        await sign_in(http, "sari")
        page = await http.get(f"/console/cases/{case.number}")
        assert page.status_code == 200 and "Admin Dinsos</option>" not in page.text
