"""The counselor pages: the queue in order with words and WIT, taking cases, the case page,
replies through the outbox, notes, referral, transfer, release, close, duty; the same rules
as the chat commands, 403 (recorded) for another's case, family text inert on every page."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.service import Service
from storage import counselors, queue
from storage.models import CaseEvent, MessageLog, OutboxMessage, Referral
from tests.support import CollectingSender, FrozenClock, deliver
from tests.test_console_support import (
    add_staff,
    client,
    console_app,
    family_case,
    sign_in,
    visible_text,
)
from tests.test_handoff import Person


def outbox_to(service: Service, recipient: str) -> list[str]:
    with service.db.connect() as conn:
        rows = conn.execute(select(OutboxMessage.payload).where(
            OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)).scalars().all()
    return [str(p.get("text")) for p in rows]


def events(service: Service, kind: str) -> list[Any]:
    """Audit events of a kind (rows: actor, kind, case_id, data...)."""
    with service.db.connect() as conn:
        return list(conn.execute(select(CaseEvent.__table__).where(CaseEvent.kind == kind)
                                 .order_by(CaseEvent.id)).all())


async def test_queue_is_most_urgent_first_in_words(service: Service, clock: FrozenClock) -> None:
    """The queue lists P0 before P1..P3, then the longest waiting first, with the priority,
    reasons, category and distrik in Indonesian and the deadline state."""
    made = []
    for user, priority in (("f-p3", "P3"), ("f-p1a", "P1"), ("f-p0", "P0"), ("f-p1b", "P1")):
        made.append(await family_case(service, user, priority))
        clock.advance(minutes=3)
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        page = (await http.get("/console/queue")).text
    numbers = [c.number for c in made]
    order = sorted(numbers, key=page.index)
    assert order == [numbers[2], numbers[1], numbers[3], numbers[0]]
    text = visible_text(page)
    assert "P0 darurat" in text and "P3 konsultasi" in text and "Antrean (4 menunggu)" in text
    assert "jatuh tempo dalam" in text or "lewat" in text
    assert "KDRT" in text  # the category in the staff's words, not its code `dv`


async def test_take_next_reply_and_the_family_receives_it(service: Service,
                                                          clock: FrozenClock) -> None:
    """'Ambil berikutnya' takes the most urgent case and opens its page; a reply reaches the
    family through the outbox exactly as a chat reply (logged as the counselor's, first
    response set), and the counselor's phone chat gets a copy."""
    low = await family_case(service, "fam-low", "P3")
    high = await family_case(service, "fam-high", "P1")
    cid = add_staff(service.db, "Sari Wenda", clock(), telegram="tg-sari")
    async with client(console_app(service)) as http:
        await sign_in(http, "sari wenda")
        r = await http.post("/console/take")
        assert r.headers["location"] == f"/console/cases/{high.number}"
        page = await http.get(r.headers["location"])
        assert "Anda memegang kasus" in page.text and "Kirim ke keluarga" in page.text
        r = await http.post(f"/console/cases/{high.number}/reply",
                            data={"text": "Selamat pagi, saya Sari dari LK3."})
        assert r.status_code == 303
        page = await http.get(f"/console/cases/{high.number}")
    assert "Pesan terkirim ke keluarga" in page.text
    assert "Selamat pagi, saya Sari dari LK3." in page.text  # in the transcript
    await asyncio.to_thread(deliver, service)
    sender = service.senders["test"]
    assert isinstance(sender, CollectingSender)
    got = sender.texts("fam-high")
    assert got[-1] == "Selamat pagi, saya Sari dari LK3."
    assert any("Sekarang Anda dilayani oleh Sari" in t for t in got[:-1])  # told at the take
    assert any("Selamat pagi, saya Sari" in t for t in sender.texts("tg-sari"))
    with service.db.connect() as conn:
        case = queue.by_id(conn, high.id)
        assert case is not None and case.assignee_id == cid and case.first_response_at
        assert queue.by_id(conn, low.id).status == "waiting"  # type: ignore[union-attr]
        authors = [a for a, t in conn.execute(select(MessageLog.author, MessageLog.text))
                   if t == "Selamat pagi, saya Sari dari LK3."]  # sealed: compared opened
        assert authors == [f"counselor:{cid}"]
        assert counselors.get(conn, cid).active_case_id == high.id  # type: ignore[union-attr]


async def test_the_phone_chat_continues_a_case_taken_in_the_console(
        service: Service, clock: FrozenClock) -> None:
    """A case taken in the browser is the active case on the phone: a plain chat message from
    the counselor goes to that family."""
    case = await family_case(service, "fam-both", "P2")
    add_staff(service.db, "Sari", clock(), telegram="tg-sari2")
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        await http.post("/console/take", data={"number": case.number})
    counselor = Person(service, "tg-sari2")
    await asyncio.to_thread(counselor.say, "Halo, ini Sari dari HP.")
    sender = service.senders["test"]
    assert isinstance(sender, CollectingSender)
    assert sender.texts("fam-both")[-1] == "Halo, ini Sari dari HP."


async def test_a_note_never_reaches_the_family(service: Service, clock: FrozenClock) -> None:
    """A note is kept on the case page and in the audit trail, never in the family's outbox."""
    case = await family_case(service, "fam-note", "P2")
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        await http.post("/console/take", data={"number": case.number})
        before = outbox_to(service, "fam-note")
        await http.post(f"/console/cases/{case.number}/note",
                        data={"text": "Ibu takut suami pulang malam ini."})
        page = await http.get(f"/console/cases/{case.number}")
    assert "Ibu takut suami pulang malam ini." in page.text
    assert outbox_to(service, "fam-note") == before
    assert [e.data["text"] for e in events(service, "note")] == [
        "Ibu takut suami pulang malam ini."]


async def test_another_counselors_case_is_403_and_recorded(service: Service,
                                                           clock: FrozenClock) -> None:
    """Budi cannot open or act on Sari's case by its URL (403, recorded as an audit event);
    a supervisor can open it, once they said why."""
    case = await family_case(service, "fam-403", "P1")
    add_staff(service.db, "Sari", clock())
    budi = add_staff(service.db, "Budi", clock())
    add_staff(service.db, "Yohana", clock(), role="supervisor")
    async with client(console_app(service)) as sari:
        await sign_in(sari, "sari")
        await sari.post("/console/take", data={"number": case.number})
    async with client(console_app(service)) as http:
        await sign_in(http, "budi")
        assert (await http.get(f"/console/cases/{case.number}")).status_code == 403
        r = await http.post(f"/console/cases/{case.number}/reply", data={"text": "halo"})
        assert r.status_code == 403
        assert case.number not in (await http.get("/console/queue")).text
    tried = events(service, "console_forbidden")
    assert [(e.actor, e.case_id) for e in tried] == [(f"counselor:{budi}", case.id)] * 2
    assert "halo" not in outbox_to(service, "fam-403")
    async with client(console_app(service)) as sup:
        await sign_in(sup, "yohana")
        assert "Membuka kasus" in (await sup.get(f"/console/cases/{case.number}")).text
        page = await sup.post(f"/console/cases/{case.number}/why", data={"reason": "quality"})
        assert page.status_code == 200 and "Kirim ke keluarga" in page.text
        assert case.number in (await sup.get("/console/queue")).text


async def test_refer_transfer_release_close_and_duty(service: Service,
                                                     clock: FrozenClock) -> None:
    """The other actions do what the chat commands do: a referral row, the case handed over,
    back in the queue, closed with an outcome (the family asked for feedback), duty toggled."""
    case = await family_case(service, "fam-acts", "P1")
    sari = add_staff(service.db, "Sari", clock())
    budi = add_staff(service.db, "Budi", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        await http.post("/console/duty", data={"on": "1"})
        await http.post("/console/take", data={"number": case.number})
        await http.post(f"/console/cases/{case.number}/refer",
                        data={"institution": "uptd_ppa", "reason": "pendampingan hukum"})
        await http.post(f"/console/cases/{case.number}/transfer", data={"to": "Budi"})
        r = await http.post(f"/console/cases/{case.number}/release")
        assert r.status_code == 403  # handed over: no longer Sari's to read or act on
    with service.db.connect() as conn:
        held = queue.by_id(conn, case.id)
        assert held is not None and held.assignee_id == budi and held.status == "claimed"
        assert conn.execute(select(Referral.institution)).scalars().all() == ["uptd_ppa"]
        assert counselors.get(conn, sari).on_duty  # type: ignore[union-attr]
    async with client(console_app(service)) as http:
        await sign_in(http, "budi")
        await http.post(f"/console/cases/{case.number}/release")
        await http.post("/console/take", data={"number": case.number})
        # a P1 is closed only once someone has written to the family (or by a supervisor)
        await http.post(f"/console/cases/{case.number}/reply", data={"text": "Halo ibu"})
        await http.post(f"/console/cases/{case.number}/close", data={"outcome": "dirujuk"})
        page = await http.get(f"/console/cases/{case.number}")
    with service.db.connect() as conn:
        closed = queue.by_id(conn, case.id)
    assert closed is not None and closed.status == "closed"
    assert "ditutup dengan hasil dirujuk" in page.text
    assert [e.kind for e in events(service, "release")] == ["release"]


async def test_family_text_stays_inert_on_every_page(service: Service,
                                                     clock: FrozenClock) -> None:
    """A family's `<script>`, `<img onerror>` and `hx-*` words are shown as text, never as
    markup, in the transcript, the live fragment and the notes."""
    case = await family_case(service, "fam-xss", "P2")
    evil = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>',
            '<div hx-get="/console/logout" hx-trigger="load">x</div>']
    family = Person(service, "fam-xss")
    add_staff(service.db, "Sari", clock())
    async with client(console_app(service)) as http:
        await sign_in(http, "sari")
        await http.post("/console/take", data={"number": case.number})
        for words in evil:
            await asyncio.to_thread(family.say, words)
        await http.post(f"/console/cases/{case.number}/note", data={"text": evil[1]})
        pages = [await http.get(f"/console/cases/{case.number}"),
                 await http.get(f"/console/cases/{case.number}/live?after=0"),
                 await http.get("/console/queue")]
    for page in pages:
        assert page.status_code == 200
        for words in evil:
            assert words not in page.text
        assert "<script>alert" not in page.text and "onerror=alert" not in page.text.replace(
            "&lt;img src=x onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text
    assert "&lt;div hx-get=" in pages[1].text


async def test_a_photo_in_the_transcript_is_named_in_indonesian(
        service: Service, clock: FrozenClock) -> None:
    """A family's photo and voice note show as [foto] and [pesan suara] in the case page's
    transcript, never the provider's code ([photo]); the events name them, the consent
    choice and the conversation's step in words too, not as codes or JSON."""
    case = await family_case(service, "fam-foto", "P2")
    family = Person(service, "fam-foto")
    for kind, mime in (("photo", "image/jpeg"), ("voice", "audio/ogg")):
        await asyncio.to_thread(family.say_raw, payload={"text": "", "media": [
            {"kind": kind, "ref": f"ref-{kind}", "mime": mime}]})
    add_staff(service.db, "Yohana", clock(), telegram="tg-yohana", role="supervisor")
    async with client(console_app(service)) as http:
        await sign_in(http, "yohana")
        page = visible_text((await http.get(f"/console/cases/{case.number}")).text)
    assert "[foto]" in page and "[pesan suara]" in page
    assert "[photo]" not in page and "[voice]" not in page
    assert "media: foto" in page and "media: pesan suara" in page
    assert "pilihan: setuju" in page and "tahap: penutup (kasus sudah dibuat)" in page
    assert "kind" not in page and "closing" not in page and ": agree" not in page
