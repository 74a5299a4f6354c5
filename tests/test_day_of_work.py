"""A day of LK3 work end to end: two counselors and a supervisor on (fake) Telegram, families on
(fake) WhatsApp and Telegram, the real python-telegram-bot and twilio clients over loopback HTTP,
the real processor, outbox relay and scheduler, on one frozen clock.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from bot.casework import staff
from bot.casework.scheduler import Scheduler
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.channels.whatsapp import EMPTY_TWIML, INBOUND_PATH, WhatsAppChannel
from bot.config import Settings
from bot.pipeline.relay import Relay
from bot.service import Service
from bot.web import create_app
from flows.triage import describe
from storage import cases, counselors, queue
from storage.models import Case
from storage.queue import CaseView
from tests.fakes.telegram_api import FakeTelegram, Sent
from tests.fakes.twilio_api import FakeTwilio
from tests.support import FrozenClock, make_service
from tests.test_telegram import PHOTO, message, press, settle, text
from tests.test_whatsapp import BOT, SID, inbound_params, media_url, sign
from tests.test_whatsapp import TOKEN as TWILIO_TOKEN

PUBLIC = "https://lk3.mimika.example.go.id"
SECRET = "lk3-day-of-work_secret-42"
SARI, BUDI, YOHANA = 8_100_000_001, 8_100_000_002, 8_100_000_009
STAFF = {SARI: ("Sari Wenda", "counselor"), BUDI: ("Budi Kogoya", "counselor"),
         YOHANA: ("Yohana Magal", "supervisor")}
EMERGENCY = "Keselamatan Anda yang utama"
HELD = "Pesan Anda sudah sampai ke petugas LK3 yang sedang menangani Anda"

# Answers typed (or pressed) from the greeting to the closing, one path per priority; the same
# paths as tests/transcripts (premarital, economy, dv_perpetrator_weapon) and test_handoff.
P3 = ["halo", "1", "3", "1", "2", "9", "1", "20", "LEWATI", "2", "1", "LEWATI", "2", "LEWATI",
      "Kami mau menikah bulan depan, mau tanya soal konseling pra nikah."]
P2 = ["halo", "1", "3", "1", "2", "6", "5", "13", "LEWATI", "2", "1", "LEWATI", "2", "LEWATI",
      "Suami kena PHK, anak-anak belum bayar sekolah."]
# domestic violence, children at risk, agree and allow referral
P1 = ["halo", "1", "3", "2", "2", "2", "1", "1", "LEWATI", "2", "2", "2", "2", "1", "1", "1",
      "1", "LEWATI", "1", "LEWATI", "LEWATI"]
# perpetrator near with a weapon: the emergency message mid-intake ("1": safe for now)
P0 = ["halo", "1", "3", "2", "2", "2", "1", "1", "LEWATI", "2", "1", "1", "1", "2", "2", "1",
      "1", "1", "LEWATI", "2", "LEWATI", "LEWATI"]


# -- the service as families and staff reach it ---------------------------------------------


@dataclass
class Desk:
    """Both webhooks, the processor, the relay and the scheduler, driven step by step."""

    service: Service
    clock: FrozenClock
    telegram: FakeTelegram
    twilio: FakeTwilio
    http: httpx.AsyncClient
    relay: Relay
    scheduler: Scheduler
    scheduled: int = 0

    async def post_telegram(self, update: dict[str, Any]) -> None:
        r = await self.http.post("/webhooks/telegram", json=update,
                                 headers={SECRET_HEADER: SECRET})
        assert r.status_code == 200, r.text
        await self.settle()

    async def post_whatsapp(self, sender: str, body: str = "", **fields: str) -> None:
        params = inbound_params(sender, body, **fields)
        r = await self.http.post(INBOUND_PATH, data=params, headers={
            "X-Twilio-Signature": sign(PUBLIC + INBOUND_PATH, params)})
        assert r.status_code == 200 and r.text == EMPTY_TWIML, r.text
        await self.settle()

    async def settle(self) -> None:
        """Process, relay and run the scheduler until nothing is left to do at this moment."""
        for _ in range(20):
            await settle(self.service, self.relay, self.clock)
            acted = self.scheduler.run_once()
            self.scheduled += acted
            if not acted:
                return
        raise AssertionError("the scheduler keeps acting at one moment")

    async def later(self, **delta: float) -> None:
        """Time passes (the scheduler runs, as its worker would)."""
        self.clock.advance(**delta)
        await self.settle()

    def family_text(self, key: str, **params: Any) -> str:
        return self.service.flows.bundle.catalog.text(key, "id", params)

    def case(self, number: str) -> CaseView:
        with self.service.db.connect() as conn:
            found = queue.by_number(conn, number)
        assert found is not None
        return found


@dataclass
class Staffer:
    """A counselor or supervisor on Telegram."""

    desk: Desk
    chat: int
    seen: int = 0

    def unread_messages(self) -> list[Sent]:
        mine = self.desk.telegram.messages_to(self.chat)
        new, self.seen = mine[self.seen:], len(mine)
        return new

    def unread(self) -> list[str]:
        return [m.text for m in self.unread_messages()]

    async def say(self, words: str) -> list[str]:
        await self.desk.post_telegram(text(self.chat, words))
        return self.unread()

    async def press(self, sent: Sent, data: str) -> list[str]:
        await self.desk.post_telegram(press(self.chat, sent, data))
        return self.unread()


@dataclass
class WhatsAppFamily:
    """A family writing on WhatsApp: signed Twilio webhooks in, the fake Twilio's bodies out."""

    desk: Desk
    number: str
    seen: int = 0

    def received(self) -> list[str]:
        return self.desk.twilio.bodies(self.number)

    def unread(self) -> list[str]:
        mine = self.received()
        new, self.seen = mine[self.seen:], len(mine)
        return new

    async def say(self, body: str = "", **fields: str) -> list[str]:
        await self.desk.post_whatsapp(self.number, body, **fields)
        return self.unread()

    async def answer(self, words: str) -> list[str]:
        return await self.say(words)


@dataclass
class TelegramFamily:
    """A family on Telegram: presses the numbered button when there is one, else types."""

    desk: Desk
    chat: int
    seen: int = 0
    presses: list[str] = field(default_factory=list)

    def received(self) -> list[str]:
        return self.desk.telegram.texts_to(self.chat)

    def unread(self) -> list[str]:
        mine = self.received()
        new, self.seen = mine[self.seen:], len(mine)
        return new

    async def say(self, words: str) -> list[str]:
        await self.desk.post_telegram(text(self.chat, words))
        return self.unread()

    async def answer(self, words: str) -> list[str]:
        sent = self.desk.telegram.messages_to(self.chat)
        buttons = sent[-1].buttons() if sent else []
        if words.isdigit() and 0 < int(words) <= len(buttons):
            data = buttons[int(words) - 1][1]
            self.presses.append(data)
            await self.desk.post_telegram(press(self.chat, sent[-1], data))
            return self.unread()
        return await self.say(words)


Family = WhatsAppFamily | TelegramFamily


async def intake(family: Family, answers: list[str]) -> str:
    """The whole intake to a waiting case; returns its number."""
    replies: list[str] = []
    for words in answers:
        got = await family.answer(words)
        assert got, f"no reply to {words!r}"
        replies += got
    closing = [r for r in replies if "Nomor kasus Anda" in r]
    assert closing, replies[-3:]
    number = closing[-1].split("Nomor kasus Anda: ")[1].split(".")[0]
    assert family.desk.case(number).status == "waiting"
    return number


# -- fixtures ----------------------------------------------------------------------------------


def settings_for(db: Engine, telegram: FakeTelegram, twilio: FakeTwilio,
                 **extra: object) -> Settings:
    """Both channels on, pointed at the fakes; `extra` overrides."""
    return Settings.model_validate({
        "DATABASE_URL": db.url.render_as_string(False), "PUBLIC_BASE_URL": PUBLIC,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_FROM": BOT, "TWILIO_API_BASE_URL": twilio.url,
        "WHATSAPP_MPS": 1000, "HTTP_TIMEOUT": 5, **extra})


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram.running() as fake:
        yield fake
        assert fake.unknown == [], f"the bot called methods the fake does not know: {fake.unknown}"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TWILIO_TOKEN) as fake:
        yield fake
        assert fake.unknown == [], "the client called a path the fake does not serve"


@pytest.fixture
async def desk(db: Engine, clock: FrozenClock, fake_telegram: FakeTelegram,
               fake_twilio: FakeTwilio) -> AsyncIterator[Desk]:
    service = make_service(db, clock)
    service.settings = settings_for(db, fake_telegram, fake_twilio)
    telegram = TelegramChannel(service)
    await telegram.start()  # registers the webhook with the fake Bot API
    assert fake_telegram.webhook and fake_telegram.webhook["url"] == \
        f"{PUBLIC}/webhooks/telegram"
    app = create_app(service, run_workers=False, channels=[telegram, WhatsAppChannel(service)])
    relay = Relay(service.db, service.senders, clock, rng=random.Random(7))
    with db.begin() as conn:
        for chat, (name, role) in STAFF.items():
            counselors.add(conn, name=name, role=role, now=clock(),
                           accounts=[("telegram", str(chat))])
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://10.0.0.5:8000") as http:
            yield Desk(service, clock, fake_telegram, fake_twilio, http, relay,
                       Scheduler(db, clock, bundle=service.flows.bundle))
    finally:
        await telegram.close()


# -- checks ---------------------------------------------------------------------------------


def claims(db: Engine) -> list[tuple[str, datetime]]:
    """(case number, when) of every claim, in the order they happened."""
    with db.connect() as conn:
        numbers = {r.id: r.number for r in conn.execute(select(Case.id, Case.number))}
        found = [(numbers[e["case_id"]], e["created_at"])
                 for case_id in numbers for e in cases.events_of(conn, case_id)
                 if e["kind"] == "claim"]
    return sorted(found, key=lambda c: c[1])


def scheduler_events(db: Engine) -> list[tuple[str, str, datetime, list[int] | bool]]:
    with db.connect() as conn:
        numbers = {r.id: r.number for r in conn.execute(select(Case.id, Case.number))}
        return [(numbers[case_id], e["kind"], e["created_at"], e["data"]["told"])
                for case_id in numbers for e in cases.events_of(conn, case_id)
                if e["actor"] == "scheduler"]


def take_buttons(messages: list[Sent], number: str) -> list[Sent]:
    return [m for m in messages if ("1. " + staff.text("take_button", number=number),
                                    f"take:{number}") in m.buttons()]


# -- the tests ------------------------------------------------------------------------------


async def test_whatsapp_family_to_a_person_and_back_end_to_end(desk: Desk) -> None:
    """A WhatsApp family to Telegram counselors and back: claim, relay, DARURAT, close, rating."""
    sari, budi, yohana = (Staffer(desk, c) for c in (SARI, BUDI, YOHANA))
    for person in (sari, budi, yohana):
        assert await person.say("/siaga") == [staff.text("duty_on")]
    family = WhatsAppFamily(desk, "whatsapp:+6281100000001")
    number = await intake(family, P1)
    assert "asisten otomatis" in family.received()[0]

    alerts = {p.chat: p.unread_messages() for p in (sari, budi, yohana)}
    for got in alerts.values():  # P1: the counselors on duty and the supervisor
        assert [m.text.split(" · ")[:2] for m in got] == [[f"Kasus baru {number}", "P1"]]
        assert take_buttons(got, number) == got
    await desk.later(minutes=2)

    (alert,) = alerts[SARI]
    brief = await sari.press(alert, f"take:{number}")
    assert brief[0].startswith(f"Anda memegang kasus {number} (P1)")
    assert desk.telegram.calls_of("answerCallbackQuery")
    assert desk.telegram.edited_text(SARI, alert.message_id) == \
        f"{alert.text}\n\n» 1. Ambil {number}"  # the button is closed after the press
    joined = desk.family_text("handoff.joined", name="Sari")
    assert family.unread() == [joined]
    (late,) = alerts[BUDI]  # a second press on another counselor's alert takes nothing
    assert await budi.press(late, f"take:{number}") == [
        staff.text("gone", suffix=f" ({number})")]

    assert await family.say("halo ibu, sa takut") == []  # the bot is silent now
    assert sari.unread() == [f"[{number}] halo ibu, sa takut"]
    photo = media_url(41)
    assert await family.say("ini fotonya", MessageType="image", NumMedia="1",
                            MediaUrl0=photo, MediaContentType0="image/jpeg") == []
    assert sari.unread() == [f"[{number}] ini fotonya\n[{number}] (foto) {photo}"]
    await desk.later(minutes=1)
    hello = "Halo, saya Sari dari LK3. Anda aman sekarang?"
    assert await sari.say(hello) == []
    assert family.unread() == [hello]

    sos = await family.say("DARURAT")  # the safety keyword is still the bot's
    # the numbers; the advice is the counselor's (not the bot's "go to a safe place")
    assert len(sos) == 1 and sos[0].startswith(HELD) and "110" in sos[0]
    assert sari.unread()[0].startswith(f"DARURAT dari keluarga {number}")
    # P0 pages the supervisor too, whoever holds the case
    assert yohana.unread()[-1].startswith(f"DARURAT dari keluarga {number}")
    after_sos = await family.say("1")  # the answer to the bot's safety question
    assert sari.unread() == [f"[{number}] 1 (Sudah aman sekarang)"]  # what it chose
    assert await family.say("terima kasih bu") == []
    assert sari.unread() == [f"[{number}] terima kasih bu"]

    assert await sari.say("/catatan ibu takut pulang") == [f"Catatan disimpan di {number}."]
    assert await sari.say("/rujuk uptd_ppa butuh pendampingan") == [
        f"Rujukan {number} ke UPTD PPA / P2TP2A Kabupaten Mimika dicatat "
        "(dasar hukum persetujuan keluarga)."]
    assert family.unread() == []  # notes and referrals are not the family's to see

    assert await sari.say("/alihkan Budi Kogoya") == [
        f"Kasus {number} diserahkan ke Budi Kogoya."]
    assert budi.unread()[0].startswith(f"Kasus {number} (P0) diserahkan kepada Anda")
    transferred = desk.family_text("handoff.transferred", name="Budi")
    assert family.unread() == [transferred]
    assert await family.say("pak budi?") == []
    assert budi.unread() == [f"[{number}] pak budi?"] and sari.unread() == []
    words = "Ya, saya Budi. Besok pagi kami dampingi Ibu ke UPTD PPA."
    await budi.say(words)
    assert family.unread() == [words]

    assert await budi.say("/selesai selesai") == [
        f"Kasus {number} ditutup dengan hasil selesai."]
    closed = desk.family_text("handoff.closed", case_number=number)
    bye = family.unread()
    assert bye[0] == closed and bye[1].startswith(desk.family_text("feedback"))
    assert await family.say("5") == [desk.family_text("done")]
    assert budi.unread() == [f"Keluarga {number} memberi nilai kepuasan 5."]

    # Everything the family got from the claim on: people's words, notices, DARURAT's answer.
    tail = family.received()[family.received().index(joined):]
    assert tail == [joined, hello, sos[0], *after_sos, transferred, words, *bye,
                    desk.family_text("done")]
    assert after_sos == [desk.family_text("handoff.resume")]  # a service notice
    case = desk.case(number)
    assert (case.status, case.priority) == ("closed", "P0")
    with desk.service.db.connect() as conn:
        assert conn.execute(select(Case.satisfaction).where(Case.number == number)
                            ).scalar_one() == 5
    assert yohana.unread() == []  # paged for the new case and the DARURAT, nothing else
    assert desk.scheduled == 0  # nothing was ever overdue


async def test_a_day_of_work_in_priority_order(desk: Desk) -> None:
    """A day: claims by priority then wait, an untaken P0 re-paged, a person (not the bot) last."""
    sari, budi, yohana = (Staffer(desk, c) for c in (SARI, BUDI, YOHANA))
    for person in (sari, budi):  # the supervisor is not on duty: she hears only what is urgent
        assert await person.say("/siaga") == [staff.text("duty_on")]
    ana = TelegramFamily(desk, 7_200_000_001)
    beni = WhatsAppFamily(desk, "whatsapp:+6281100000002")
    cici = WhatsAppFamily(desk, "whatsapp:+6281100000003")
    dodi = TelegramFamily(desk, 7_200_000_002)
    eka = WhatsAppFamily(desk, "whatsapp:+6281100000005")
    number: dict[str, str] = {}
    number["ana"] = await intake(ana, P3)  # 09:30 WIT
    assert ana.presses  # the Telegram family used the buttons
    await desk.later(minutes=10)
    number["beni"] = await intake(beni, P2)
    await desk.later(minutes=10)
    number["cici"] = await intake(cici, P1)
    await desk.later(minutes=10)
    number["dodi"] = await intake(dodi, P2)
    await desk.later(minutes=3)
    assert (await beni.say("masih lama kah?"))[0].startswith(  # when, not "added" again
        f"Kasus Anda {number['beni']} sudah ada di antrean petugas LK3. Petugas akan "
        "menghubungi Anda dalam 1 hari kerja")
    assert [desk.case(n).priority for n in number.values()] == ["P3", "P2", "P1", "P2"]
    # the supervisor heard of the P1 only; the counselors on duty of every case
    assert [t.split(" · ")[:2] for t in yohana.unread()] == [[f"Kasus baru {number['cici']}",
                                                              "P1"]]
    for person in (sari, budi):
        alerts = person.unread_messages()
        assert [m.text.split(" · ")[0] for m in alerts] == [
            f"Kasus baru {number[n]}" for n in ("ana", "beni", "cici", "dodi")]
        assert all(take_buttons([m], m.text.split(" ")[2]) for m in alerts)
    said: dict[str, list[str]] = {}

    async def serve(person: Staffer, family: Family, name: str, words: list[str],
                    outcome: str = "selesai") -> None:
        """/ambil (the next most urgent), talk with the family, close."""
        brief = await person.say("/ambil")
        assert brief[0].startswith(f"Anda memegang kasus {number[name]}"), brief
        assert family.unread()[0] == desk.family_text(
            "handoff.joined", name=STAFF[person.chat][0].split()[0])
        said[name] = words
        for line in words:
            await desk.later(minutes=2)
            assert await person.say(line) == []
            assert family.unread() == [line]
            assert await family.say("iya, terima kasih") == []
            assert person.unread() == [f"[{number[name]}] iya, terima kasih"]
        assert await person.say(f"/selesai {outcome}") == [
            f"Kasus {number[name]} ditutup dengan hasil {outcome}."]
        assert (await family.say("4"))[-1] == desk.family_text("done")
        assert person.unread() == [f"Keluarga {number[name]} memberi nilai kepuasan 4."]

    await serve(sari, cici, "cici", ["Selamat pagi, saya Sari. Apakah Ibu dan anak aman?",
                                     "Sore ini kami datang bersama UPTD PPA."])
    number["eka"] = await intake(eka, P0)  # an emergency comes in while everyone is busy
    p0 = desk.case(number["eka"])
    assert p0.priority == "P0"
    for person in (sari, budi, yohana):  # paged at once, the supervisor too
        got = person.unread_messages()  # told at the first P1 answer, paged again at P0
        assert got[-1].text.startswith(f"Kasus naik ke P0: {number['eka']}"), got[-1].text
        assert all(number["eka"] in m.text for m in got)
        assert take_buttons(got, number["eka"]) == got
    while not scheduler_events(desk.service.db):  # nobody takes it...
        assert desk.clock() < p0.created_at + timedelta(minutes=6)
        await desk.later(seconds=30)
    ((case_no, kind, when, told), family_told) = scheduler_events(desk.service.db)
    assert (case_no, kind) == (number["eka"], "p0_realert")
    assert p0.created_at + timedelta(minutes=5) <= when < p0.created_at + timedelta(minutes=6)
    assert family_told == (number["eka"], "p0_family_update", when, True)
    assert eka.unread() == [desk.family_text(  # nobody has answered yet: said, with numbers
        "p0_wait.no_answer_yet", emergency_contacts=desk.service.flows.bundle.directory
        .contacts("id", p0.distrik, first=("violence",)))]  # the danger told: its first
    with desk.service.db.connect() as conn:
        ids = {c: counselors.by_account(conn, [("telegram", str(c))])[("telegram", str(c))]
               for c in STAFF}
    assert sorted(told) == sorted(ids.values())  # both counselors on duty and the supervisor
    page = staff.text("p0_realert", number=number["eka"], waited="5 menit",
                      reasons=describe(p0.reasons), distrik="Mimika Baru")
    for person in (sari, budi, yohana):
        got = person.unread_messages()
        assert [m.text for m in got] == [page]
        assert take_buttons(got, number["eka"]) == got

    queue_now = await yohana.say("/antrian")  # the supervisor looks at the queue
    assert [line.split(" · ")[:2] for line in queue_now[0].splitlines()[1:]] == [
        [number["eka"], "P0"], [number["beni"], "P2"], [number["dodi"], "P2"],
        [number["ana"], "P3"]]

    # The emergency is taken before families of lower priority who waited longer.
    await serve(budi, eka, "eka", ["Ibu, saya Budi dari LK3. Apakah Ibu di tempat aman?"],
                outcome="dirujuk")
    await serve(sari, beni, "beni", ["Selamat siang, saya Sari. Kami bantu urus bantuan sosial."])
    await serve(budi, dodi, "dodi", ["Halo, saya Budi. Kami cek bantuan sekolah anak."])
    await desk.later(hours=1)
    await serve(sari, ana, "ana", ["Selamat siang, saya Sari. Kita atur jadwal konseling ya."])
    assert await sari.say("/ambil") == [staff.text("gone", suffix="")]

    order = [n for n, _ in claims(desk.service.db)]
    assert order == [number[k] for k in ("cici", "eka", "beni", "dodi", "ana")]
    views = {n: desk.case(n) for n in order}
    for claimed, at in claims(desk.service.db):  # none waiting was more urgent, or older
        mine = views[claimed]
        for other in views.values():
            if other.number != claimed and other.created_at <= at and (
                    other.claimed_at is None or other.claimed_at > at):
                assert (mine.priority, mine.created_at) <= (other.priority, other.created_at)
    assert all(v.status == "closed" for v in views.values())
    assert [k for _, k, _, _ in scheduler_events(desk.service.db)] == [
        "p0_realert", "p0_family_update"]

    for name, family in (("ana", ana), ("beni", beni), ("cici", cici), ("dodi", dodi),
                         ("eka", eka)):
        heard = family.received()
        joined = [i for i, t in enumerate(heard) if "Ini manusia, bukan bot" in t]
        closed = heard.index(desk.family_text("handoff.closed", case_number=number[name]))
        assert len(joined) == 1 and joined[0] < closed
        # only a person's words while a person held the case: no intake question, ever
        assert heard[joined[0] + 1:closed] == said[name], name
        assert heard[closed - 1] == said[name][-1]  # a person spoke last before the close
        assert heard[closed + 1].startswith(desk.family_text("feedback"))
        assert heard[closed + 2:] == [desk.family_text("done")]


async def test_a_counselors_photo_reaches_a_whatsapp_family(desk: Desk) -> None:
    """A photo a counselor sends on Telegram reaches the family on WhatsApp as media."""
    sari = Staffer(desk, SARI)
    await sari.say("/siaga")
    family = WhatsAppFamily(desk, "whatsapp:+6281100000001")
    await intake(family, P1)
    await sari.say("/ambil")
    family.unread()
    await desk.post_telegram(message(SARI, photo=PHOTO, caption="Ini leaflet SAPA 129"))
    assert family.unread() == ["Ini leaflet SAPA 129"]  # the caption, with the photo:
    assert desk.twilio.creates()[-1].form.get("MediaUrl"), "the photo did not go along"
