"""Counselor handoff end to end through the real pipeline (channel-agnostic: test channels)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from bot.casework import staff
from bot.channels.base import SendError
from bot.channels.console import format_payload
from bot.service import Service
from storage import cases, conversations, counselors, inbox, queue
from storage.clock import utc
from storage.models import (
    Case,
    CaseEvent,
    ConsentRecord,
    Contact,
    Counselor,
    MessageLog,
    Referral,
)
from storage.queue import CaseView
from tests.support import CHANNEL, CollectingSender, FrozenClock, deliver

OTHER = "test2"
_ids = itertools.count(1)
GREETING = "asisten otomatis"
EMERGENCY = "Keselamatan Anda yang utama"
# chat, no danger now, CONSENT, adult, domestic violence, myself, first distrik, no kampung,
# not injured, perpetrator not near, no weapon, not escalating, children at risk, a safe place,
# safe to chat, contact by this chat, no safe times, a message may be left, no codeword,
# no account: a waiting P1 case
INTAKE = ["halo", "1", "3", "{consent}", "2", "2", "1", "1", "LEWATI", "2", "2", "2", "2",
          "1", "1", "1", "1", "LEWATI", "1", "LEWATI", "LEWATI"]
AGREE, AGREE_REFER = "1", "2"


@dataclass
class Person:
    """Anyone writing on a test channel (a family or a counselor); `say` returns new replies."""

    service: Service
    user: str
    channel: str = CHANNEL
    seen: int = 0

    def sender(self) -> CollectingSender:
        sender = self.service.senders[self.channel]
        assert isinstance(sender, CollectingSender)
        return sender

    def payloads(self) -> list[dict[str, Any]]:
        return [p for r, p in self.sender().sent if r == self.user]

    def say(self, text: str = "", *, payload: dict[str, Any] | None = None) -> list[str]:
        return [format_payload(p) for p in self.say_raw(text, payload=payload)]

    def say_raw(self, text: str = "", *,
                payload: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.service.db.begin() as conn:
            inbox.store(conn, channel=self.channel, sender=self.user,
                        payload=payload if payload is not None else {"text": text},
                        provider_message_id=f"h{next(_ids)}", now=self.service.clock())
        deliver(self.service)
        return self.unread()

    def unread(self) -> list[dict[str, Any]]:
        mine = self.payloads()
        new, self.seen = mine[self.seen:], len(mine)
        return new

    def intake(self, consent: str = AGREE_REFER) -> str:
        """The whole intake to a waiting case; returns the case number."""
        for answer in INTAKE:
            out = self.say(answer.format(consent=consent))
        assert any("Nomor kasus Anda" in t for t in out), out
        case = case_of(self.service.db, self.user)
        assert case.status == "waiting"
        return case.number


def case_of(db: Engine, user: str) -> CaseView:
    """The case the family's conversation points to now."""
    with db.connect() as conn:
        contact_id = conn.execute(select(Contact.id).where(
            Contact.provider_user_id == user)).scalar_one()
        conv = conversations.load(conn, contact_id)
        assert conv is not None and conv.case_id is not None
        case = queue.by_id(conn, conv.case_id)
        assert case is not None
        return case


def by_number(db: Engine, number: str) -> CaseView:
    with db.connect() as conn:
        case = queue.by_number(conn, number)
    assert case is not None
    return case


def events(db: Engine, number: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return cases.events_of(conn, by_number(db, number).id)


def counselor_events(db: Engine, number: str) -> list[tuple[str, str, datetime | None]]:
    return [(e["actor"], e["kind"], e["created_at"]) for e in events(db, number)
            if e["actor"].startswith("counselor:")]


def add_staff(service: Service, name: str, user: str, role: str = "counselor",
              channel: str = CHANNEL, capacity: int = 5) -> tuple[int, Person]:
    with service.db.begin() as conn:
        cid = counselors.add(conn, name=name, role=role, now=service.clock(),
                             capacity=capacity, accounts=[(channel, user)])
    return cid, Person(service, user, channel)


def waiting_case(conn: Connection, user: str, priority: str, created: datetime) -> str:
    contact = conversations.touch_contact(conn, CHANNEL, user, created)
    _, number = cases.create(conn, contact_id=contact.id, channel=CHANNEL, now=created, data={
        "priority": priority, "reasons": ["test"], "category": "economy", "distrik": None,
        "legal_basis": "consent", "status": "waiting"})
    return number


def joined(texts: list[str]) -> str:
    return "\n".join(texts)


def test_end_to_end_handoff(service: Service, clock: FrozenClock) -> None:
    """Intake, alert, claim by button, relay both ways with photos, bot silent, DARURAT still
    answered, note, referral, transfer (to a counselor on another channel), close, rating."""
    service.senders[OTHER] = CollectingSender(channel=OTHER)
    sari_id, sari = add_staff(service, "Sari Wenda", "c1")
    budi_id, budi = add_staff(service, "Budi Kogoya", "b2", channel=OTHER)
    assert sari.say("/siaga") == [
        "Anda sekarang SIAGA. Kasus baru akan diberitahukan kepada Anda. "
        "Untuk berhenti siaga: /siaga off"]
    family = Person(service, "62811")

    number = family.intake(consent=AGREE_REFER)
    alert = sari.unread()
    assert len(alert) == 1 and alert[0]["text"].startswith(f"Kasus baru {number} · P1")
    assert alert[0]["choices"][0]["value"] == f"take:{number}"
    assert family.say("saya takut")  # while waiting the bot still answers
    assert sari.unread() == []

    clock.advance(minutes=12)
    brief = sari.say(payload={"payload": f"take:{number}"})
    assert brief[0].startswith(f"Anda memegang kasus {number} (P1)")
    assert "• saya takut" in brief[1]
    hello = family.unread()
    assert [p["text"] for p in hello] == [
        "Sekarang Anda dilayani oleh Sari, petugas LK3. Ini manusia, bukan bot. "
        "Silakan tulis pesan Anda; Sari akan membalas di sini."]

    assert family.say("halo petugas") == []  # the bot is silent now
    assert sari.unread()[0]["text"] == f"[{number}] halo petugas"
    photo = {"kind": "image", "ref": "foto-luka-1", "mime": "image/jpeg"}
    assert family.say(payload={"text": "", "media": [photo]}) == []
    got = sari.unread()
    assert got[0]["media"] == [{**photo, "channel": "test"}]  # tagged with where it came from
    assert got[0]["text"].startswith(f"[{number}]")

    clock.advance(minutes=3)
    assert sari.say("Halo, saya Sari dari LK3. Anda aman sekarang?") == []
    words = family.unread()
    assert words[0]["text"] == "Halo, saya Sari dari LK3. Anda aman sekarang?"
    assert words[0].get("from_staff") == sari_id
    leaflet = {"kind": "image", "ref": "leaflet-sapa129", "mime": "image/png"}
    sari.say(payload={"text": "Ini nomor SAPA", "media": [leaflet]})
    assert family.unread()[0]["media"] == [{**leaflet, "channel": "test"}]

    sos = family.say("DARURAT")
    # the numbers, and the counselor's advice leads (no "go to a safe place" of the bot's)
    assert "petugas LK3 yang sedang menangani Anda" in sos[0] and "110" in sos[0]
    assert sari.unread()[0]["text"].startswith(f"DARURAT dari keluarga {number}")
    family.say("1")  # safe now: the answer to the bot's question, copied to the counselor
    assert sari.unread()[0]["text"] == f"[{number}] 1 (Sudah aman sekarang)"  # in words
    assert family.say("terima kasih bu") == []
    assert sari.unread()[0]["text"] == f"[{number}] terima kasih bu"

    assert sari.say("/catatan ibu takut pulang") == [f"Catatan disimpan di {number}."]
    assert sari.say("/rujuk uptd_ppa butuh pendampingan") == [
        f"Rujukan {number} ke UPTD PPA / P2TP2A Kabupaten Mimika dicatat "
        "(dasar hukum persetujuan keluarga)."]
    assert family.unread() == []  # notes and referrals are not shown to the family

    assert sari.say("/alihkan Budi Kogoya") == [f"Kasus {number} diserahkan ke Budi Kogoya."]
    assert budi.unread()[0]["text"].startswith(f"Kasus {number} (P0) diserahkan kepada Anda")
    assert [p["text"] for p in family.unread()] == [
        "Kasus Anda sekarang ditangani oleh Budi, petugas LK3 (manusia). "
        "Riwayat percakapan Anda ikut diteruskan."]
    assert sari.say("masih di sana?") == ["Belum ada kasus aktif. Ketik /antrian lalu /ambil."]
    assert family.unread() == []
    assert family.say("pak budi?") == []
    assert budi.unread()[0]["text"] == f"[{number}] pak budi?"
    budi.say("Ya, saya Budi.")
    assert [p["text"] for p in family.unread()] == ["Ya, saya Budi."]
    assert "Keluarga: halo petugas" in joined(budi.say("/riwayat"))

    assert budi.say("/selesai selesai") == [f"Kasus {number} ditutup dengan hasil selesai."]
    bye = [p["text"] for p in family.unread()]
    assert bye[0].startswith(f"Kasus {number} sudah ditutup")
    assert bye[1].startswith("(Boleh dilewati) Seberapa puas")
    assert family.say("5") == [
        "Terima kasih. Jika butuh bantuan lagi, tulis pesan kapan saja. "
        "Jika darurat, ketik DARURAT."]

    case = by_number(service.db, number)
    assert (case.status, case.priority, case.assignee_id) == ("closed", "P0", budi_id)
    with service.db.connect() as conn:
        row = conn.execute(select(Case.satisfaction, Case.outcome, Case.closed_at)
                           .where(Case.number == number)).one()
        referral = conn.execute(select(Referral.institution, Referral.legal_basis,
                                       Referral.counselor_id)).one()
    assert (row.satisfaction, row.outcome) == (5, "selesai")
    assert tuple(referral) == ("uptd_ppa", "consent", sari_id)


def test_the_history_keeps_the_story_the_family_began_with(service: Service) -> None:
    """`/riwayat` showed the last 40 messages only: after a long intake and a talk with the
    counselor, the family's first message (a walk-through: a mob with bows and machetes at a
    grandmother's house) was gone from it. The family's own earlier messages come first."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62819")
    story = "sa pu nene dituduh suanggi, orang2 kumpul di depan rumah bawa panah deng parang"
    family.say(story)
    for answer in INTAKE[1:]:
        family.say(answer.format(consent=AGREE))
    number = case_of(service.db, "62819").number
    sari.say(f"/ambil {number}")
    for n in range(25):  # a long talk with the counselor
        family.say(f"pesan keluarga {n}")
        sari.say(f"balasan {n}")
    sari.unread()
    shown = joined(sari.say("/riwayat"))
    assert f"Keluarga: {story}" in shown
    assert shown.index("Pesan keluarga sebelumnya") < shown.index(story) < \
        shown.index("Percakapan terakhir") < shown.index("pesan keluarga 24")


def test_unregistered_people_using_counselor_commands_get_the_family_flow(
        service: Service) -> None:
    """Counselor commands and "take" buttons from someone who is not staff are family
    messages: the intake answers, no error, no case data, no case touched."""
    _, sari = add_staff(service, "Sari", "c1")
    sari.say("/siaga")
    number = Person(service, "62811").intake()
    sari.unread()  # the new-case alert
    stranger = Person(service, "62899")
    first = stranger.say("/antrian")
    assert GREETING in first[0]
    seen = list(first)
    for attempt in ("/ambil", f"/ambil {number}", f"/kasus {number}", "/riwayat",
                    "/catatan halo", "/selesai selesai", "/alihkan Sari", "/bantuan", "/siaga"):
        seen += stranger.say(attempt)
    seen += stranger.say(payload={"payload": f"take:{number}", "text": f"Ambil {number}"})
    everything = joined(seen)
    assert number not in everything and "LK3-" not in everything
    for staff_words in ("Antrean", "Perintah petugas", "memegang kasus", "SIAGA", "Riwayat"):
        assert staff_words not in everything
    assert by_number(service.db, number).status == "waiting"
    assert counselor_events(service.db, number) == []
    with service.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Counselor)).scalar_one() == 1
    assert sari.unread() == []  # nothing reached staff either


def test_siaga_always_means_on_duty_and_siaga_off_goes_off(service: Service) -> None:
    """Walk V-15: staff left on duty the evening before typed /siaga to start the day and
    read 'Anda sekarang TIDAK SIAGA.' (it toggled); the day's alerts then reached nobody but
    the supervisor. /siaga (or /siaga aktif) is always on duty, /siaga off is off, and each
    reply says how to switch the other way."""
    _, sari = add_staff(service, "Sari", "c1")
    on = ["Anda sekarang SIAGA. Kasus baru akan diberitahukan kepada Anda. "
          "Untuk berhenti siaga: /siaga off"]
    assert sari.say("/siaga") == on
    assert sari.say("/siaga") == on  # the next morning: still on duty
    number = Person(service, "62811").intake()
    assert sari.unread()[0]["text"].startswith(f"Kasus baru {number}")
    assert sari.say("/siaga off") == ["Anda sekarang TIDAK SIAGA. Untuk siaga lagi: /siaga"]
    assert sari.say("/siaga off") == ["Anda sekarang TIDAK SIAGA. Untuk siaga lagi: /siaga"]
    Person(service, "62812").intake()
    assert sari.unread() == []  # off duty: no new-case alert
    assert sari.say("/siaga aktif") == on
    assert sari.say("/siaga besok") == [
        '"besok" tidak dikenal. Ketik /siaga untuk mulai siaga, /siaga off untuk berhenti siaga.']


def test_counselor_cannot_act_on_another_counselors_case(service: Service) -> None:
    """Another counselor can neither open, take, message, note nor close a held case."""
    _, sari = add_staff(service, "Sari", "c1")
    budi_id, budi = add_staff(service, "Budi", "c2")
    family = Person(service, "62811")
    number = family.intake()
    sari.say(f"/ambil {number}")
    family.unread()
    assert budi.say(f"/kasus {number}") == [
        f"Kasus {number} dipegang petugas lain. Hanya supervisor yang bisa membukanya."]
    assert budi.say(f"/ambil {number}") == [
        f"Tidak ada kasus menunggu yang bisa diambil ({number})."]
    assert budi.say(payload={"payload": f"take:{number}"}) == [
        f"Tidak ada kasus menunggu yang bisa diambil ({number})."]
    no_active = ["Belum ada kasus aktif. Ketik /antrian lalu /ambil."]
    for attempt in ("halo keluarga", "/catatan x", "/rujuk uptd_ppa alasan", "/alihkan Budi",
                    "/lepas", "/selesai selesai", "/riwayat"):
        assert budi.say(attempt) == no_active, attempt
    assert family.unread() == []
    case = by_number(service.db, number)
    assert case.status == "claimed" and case.assignee_id != budi_id
    assert not [e for e in counselor_events(service.db, number)
                if e[0] == f"counselor:{budi_id}"]


def test_supervisor_can_act_on_another_counselors_case(service: Service) -> None:
    """A supervisor may open a counselor's case, write to the family, note and close it."""
    sari_id, sari = add_staff(service, "Sari", "c1")
    yo_id, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    family.unread(), yohana.unread()  # nobody on duty: the supervisor was told of the case
    assert "Supervisor boleh membukanya dengan alasan" in yohana.say(f"/kasus {number}")[0]
    assert yohana.say(f"/kasus {number} absen") == [f"Kasus aktif sekarang {number}."]
    yohana.say("Saya supervisor LK3, Yohana.")
    assert [p["text"] for p in family.unread()] == ["Saya supervisor LK3, Yohana."]
    assert yohana.say("/catatan dicek supervisor") == [f"Catatan disimpan di {number}."]
    assert yohana.say("/selesai dirujuk")[0] == f"Kasus {number} ditutup dengan hasil dirujuk."
    assert by_number(service.db, number).status == "closed"
    kinds = {(a, k) for a, k, _ in counselor_events(service.db, number)}
    assert {(f"counselor:{yo_id}", k) for k in ("message", "note", "close")} <= kinds
    assert (f"counselor:{sari_id}", "claim") in kinds


def test_daftar_with_a_valid_code_registers_once(service: Service, clock: FrozenClock) -> None:
    """/daftar CODE makes the sender staff once; the same code again is a family message."""
    with service.db.begin() as conn:
        code = counselors.create_invite(conn, "counselor", clock(), name="Maria Kogoya")
    maria = Person(service, "c9")
    assert maria.say(f"/daftar {code.lower()}") == [
        "Selamat bergabung, Maria Kogoya. Anda terdaftar sebagai konselor. "
        "Ketik /siaga untuk mulai siaga dan /bantuan untuk daftar perintah."]
    assert maria.say("/siaga") == [
        "Anda sekarang SIAGA. Kasus baru akan diberitahukan kepada Anda. "
        "Untuk berhenti siaga: /siaga off"]
    other = Person(service, "62877")
    reply = other.say(f"/daftar {code}")
    assert GREETING in reply[0]
    with service.db.connect() as conn:
        found = counselors.by_account(conn, [(CHANNEL, "c9"), (CHANNEL, "62877")])
        registered = conn.execute(select(CaseEvent.actor, CaseEvent.created_at).where(
            CaseEvent.kind == "registered")).all()
    assert list(found) == [(CHANNEL, "c9")]
    assert [(r.actor, utc(r.created_at)) for r in registered] == [
        (f"counselor:{found[(CHANNEL, 'c9')]}", clock())]


def test_daftar_with_an_expired_or_unknown_code_is_a_family_message(
        service: Service, clock: FrozenClock) -> None:
    """An expired or unknown registration code gets the family flow, not staff access."""
    with service.db.begin() as conn:
        code = counselors.create_invite(conn, "supervisor", clock())
    clock.advance(days=8)
    late = Person(service, "c9")
    assert GREETING in late.say(f"/daftar {code}")[0]
    assert GREETING in Person(service, "c8").say("/daftar NOPE1234")[0]
    assert "Antrean" not in joined(late.say("/antrian"))
    with service.db.connect() as conn:
        assert counselors.by_account(conn, [(CHANNEL, "c9"), (CHANNEL, "c8")]) == {}


def test_messages_sent_while_waiting_are_shown_on_claim(service: Service) -> None:
    """What the family wrote while waiting reaches the counselor with the claim."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    family.say("suami saya pulang jam 5")
    family.say("tolong cepat ya")  # not a keyword: TOLONG must be the whole message
    brief = sari.say(f"/ambil {number}")
    assert len(brief) == 2
    assert brief[1] == ("Pesan keluarga selama menunggu:\n• suami saya pulang jam 5\n"
                        "• tolong cepat ya")


def test_the_brief_says_when_a_family_writes_in_english(service: Service) -> None:
    """A father who wrote in English was answered in Indonesian (a walk-through): the brief
    says the family's language, in words; an Indonesian family's brief does not."""
    _, sari = add_staff(service, "Sari", "c1")
    father = Person(service, "62811")
    father.say("LANGUAGE")
    father.say("EMERGENCY")
    number = case_of(service.db, "62811").number
    brief = sari.say(f"/ambil {number}")
    assert brief[1] == "Keluarga ini memakai bahasa Inggris: balas dalam bahasa itu."
    mother = Person(service, "62812")
    assert not any("bahasa" in t for t in sari.say(f"/ambil {mother.intake()}"))


def test_a_child_is_told_in_kamu_who_has_taken_the_case(service: Service) -> None:
    """A boy of 14 read "Sekarang Anda dilayani oleh Maria" (a walk-through)."""
    _, sari = add_staff(service, "Sari", "c1")
    boy = Person(service, "62813")
    boy.say("sa umur 14, bapa pukul sa skarang")
    sari.say(f"/ambil {case_of(service.db, '62813').number}")
    joined = [p["text"] for p in boy.unread() if "dilayani" in p["text"]]
    assert joined and joined[-1].startswith("Sekarang kamu dilayani oleh Sari")


def test_counselor_with_several_cases_sees_each_case_number(service: Service) -> None:
    """Every relayed message names its case; plain words go to the active case only."""
    _, sari = add_staff(service, "Sari", "c1")
    ana, ben = Person(service, "62811"), Person(service, "62822")
    n_ana, n_ben = ana.intake(), ben.intake()
    sari.say(f"/ambil {n_ana}")
    sari.say(f"/ambil {n_ben}")
    ana.unread(), ben.unread()
    ana.say("dari ana")
    ben.say("dari ben")
    ben.say(payload={"text": "", "media": [{"kind": "voice", "ref": "vn-1"}]})
    texts = [p["text"] for p in sari.unread()]
    assert texts == [f"[{n_ana}] dari ana", f"[{n_ben}] dari ben", f"[{n_ben}] (pesan suara) vn-1"]
    assert f"Kasus aktif: {n_ben}" in sari.say("/kasus")[0]
    sari.say("untuk ben")
    assert [p["text"] for p in ben.unread()] == ["untuk ben"] and ana.unread() == []
    assert sari.say(f"/kasus {n_ana}") == [f"Kasus aktif sekarang {n_ana}."]
    sari.say("untuk ana")
    assert [p["text"] for p in ana.unread()] == ["untuk ana"] and ben.unread() == []


class FailingForFamily(CollectingSender):
    """Counselor messages to one recipient fail for good: the person blocked the bot."""

    def __init__(self, blocked: str) -> None:
        super().__init__()
        self.blocked = blocked

    async def send(self, recipient: str, payload: dict[str, Any]) -> str | None:
        if recipient == self.blocked and "from_staff" in payload:
            raise SendError("blocked by user", transient=False, code="403",
                            contact_status="unreachable")
        return await super().send(recipient, payload)


def test_counselor_hears_at_once_when_a_message_cannot_reach_the_family(
        service: Service) -> None:
    """A permanent send failure to the family is reported to the counselor straight away."""
    service.senders[CHANNEL] = FailingForFamily("62811")
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    family.unread()
    assert sari.say("Halo, apakah Anda aman?") == [
        f"Pesan Anda ke {number} TIDAK sampai: blocked by user."]
    assert family.unread() == []
    failed = [e for e in events(service.db, number) if e["kind"] == "delivery_failed"]
    assert len(failed) == 1 and failed[0]["data"]["contact_status"] == "unreachable"
    with service.db.connect() as conn:
        status = conn.execute(select(Contact.status).where(
            Contact.provider_user_id == "62811")).scalar_one()
    assert status == "unreachable"


def test_every_counselor_action_is_a_case_event_with_who_and_when(
        service: Service, clock: FrozenClock) -> None:
    """Claim, message, note, referral, transfer, release and close are audited with actor
    and time."""
    sari_id, sari = add_staff(service, "Sari", "c1")
    budi_id, budi = add_staff(service, "Budi", "c2")
    number = Person(service, "62811").intake(consent=AGREE_REFER)
    steps = [(sari, "/ambil"), (sari, "halo"), (sari, "/catatan n"),
             (sari, "/rujuk lbh bantuan hukum"), (sari, "/alihkan Budi"), (budi, "/lepas"),
             (budi, "/ambil"), (budi, "/selesai duplikat")]
    times = []
    for who, words in steps:
        clock.advance(minutes=5)
        times.append(clock())
        who.say(words)
    s, b = f"counselor:{sari_id}", f"counselor:{budi_id}"
    assert counselor_events(service.db, number) == [
        (s, "claim", times[0]), (s, "message", times[1]), (s, "note", times[2]),
        (s, "referral", times[3]), (s, "transfer", times[4]), (b, "release", times[5]),
        (b, "claim", times[6]), (b, "close", times[7])]
    by_kind = {e["kind"]: e["data"] for e in events(service.db, number)
               if e["actor"].startswith("counselor:")}
    assert by_kind["note"] == {"text": "n"}
    assert by_kind["transfer"]["to_id"] == budi_id
    # and the intake's answers, kept with the closed case (the conversation starts afresh)
    assert by_kind["close"]["outcome"] == "duplikat"
    assert by_kind["close"]["answers"]["consent"] == "agree_refer"


def test_first_human_response_time_is_stored(service: Service, clock: FrozenClock) -> None:
    """first_response_at is the counselor's first message, not the claim and not later ones."""
    _, sari = add_staff(service, "Sari", "c1")
    number = Person(service, "62811").intake()
    clock.advance(minutes=4)
    sari.say("/ambil")
    assert by_number(service.db, number).first_response_at is None
    clock.advance(minutes=7)
    first = clock()
    sari.say("Halo, saya Sari.")
    clock.advance(minutes=2)
    sari.say("Apakah Anda aman?")
    case = by_number(service.db, number)
    assert case.first_response_at == first
    assert case.claimed_at == first - timedelta(minutes=7)


def closed_case(service: Service, rated: bool = True,
                outcome: str = "selesai") -> tuple[Person, str]:
    """A family whose case Sari took, answered and closed; the rating skipped (`rated`),
    else left waiting unanswered."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    old = family.intake()
    sari.say("/ambil")
    family.say("halo")
    sari.say("halo juga")
    sari.say(f"/selesai {outcome}")
    if rated:
        family.say("LEWATI")  # no rating
    return family, old


def test_closed_case_keeps_history_and_a_new_intake_is_linked(service: Service) -> None:
    """After close the old case keeps its messages and events; writing again starts a new
    intake whose case points to the old one."""
    family, old = closed_case(service)
    old_case = by_number(service.db, old)
    with service.db.connect() as conn:
        before = conn.execute(select(func.count()).select_from(MessageLog).where(
            MessageLog.case_id == old_case.id)).scalar_one()
    assert before > 0
    new = family.intake()
    assert new != old
    with service.db.connect() as conn:
        linked = conn.execute(select(Case.previous_case_id).where(Case.number == new)
                              ).scalar_one()
        after = conn.execute(select(func.count()).select_from(MessageLog).where(
            MessageLog.case_id == old_case.id)).scalar_one()
    assert linked == old_case.id
    assert after == before
    assert by_number(service.db, old).status == "closed"
    assert {"claim", "close"} <= {k for _, k, _ in counselor_events(service.db, old)}


def test_a_closed_case_still_shows_the_intake_answers(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """A walk-through: a counselor closed a case with a follow-up promised, and `lk3 cases
    show` then read "Jawaban keluarga (0)": consent, contact choice and safe time gone with
    the conversation's fresh start. They stay with the closed case, also after a new one."""
    from bot.cli.caseshow import show
    family, old = closed_case(service)
    family.intake()  # a new case: the conversation has moved on
    capsys.readouterr()
    assert show(service.db, old) == 0
    out = capsys.readouterr().out
    assert staff.text("show_answers", count=0) not in out
    assert "Setuju, dan boleh dirujuk" in out or "dirujuk" in out


def test_referral_without_consent_asks_the_family_first(service: Service) -> None:
    """/rujuk on a case whose family agreed to counseling only: the family is asked in the
    chat (walk L: a mother wrote "iya boleh" to her counselor, who had no way to record
    it). Their yes records a consent that covers referral and the referral itself, and the
    counselor hears it; a no shares nothing. Only a P0 case is referred without asking."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake(consent=AGREE)
    sari.say("/ambil")
    family.unread()
    assert sari.say("/rujuk uptd_ppa butuh pendampingan") == [
        f"Keluarga {number} belum setuju dirujuk, jadi mereka ditanya dulu lewat chat apakah "
        "setuju dirujuk ke UPTD PPA / P2TP2A Kabupaten Mimika. Bila setuju, rujukan langsung "
        "dicatat dan Anda diberi tahu."]
    asked = joined([format_payload(p) for p in family.unread()])
    assert "merujuk Anda ke UPTD PPA / P2TP2A Kabupaten Mimika" in asked
    assert "1. Ya" in asked and "2. Tidak" in asked, asked
    with service.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Referral)).scalar_one() == 0
    replies = family.say("iya boleh")
    assert replies[0].startswith("Terima kasih. Petugas LK3 akan mengurus rujukannya"), replies
    told = sari.unread()
    assert any(f"Keluarga {number} setuju dirujuk ke UPTD PPA" in format_payload(p)
               for p in told), told
    with service.db.connect() as conn:
        referral = conn.execute(select(Referral.institution, Referral.legal_basis,
                                       Referral.reason)).one()
        given = conn.execute(select(ConsentRecord.choice, ConsentRecord.legal_basis)
                             .order_by(ConsentRecord.id)).all()
    assert tuple(referral) == ("uptd_ppa", "consent", "butuh pendampingan")
    assert [tuple(g) for g in given] == [("agree", "consent"), ("agree_refer", "consent")]
    # a second place is now referred at once; the family talks on with their counselor
    assert sari.say("/rujuk lbh bantuan hukum")[-1].startswith(f"Rujukan {number} ke Bantuan")
    assert family.say("makasih kk") == []
    assert "makasih kk" in joined([format_payload(p) for p in sari.unread()])

    other = Person(service, "62812")
    second = other.intake(consent=AGREE)
    sari.say(f"/ambil {second}")
    other.unread()
    sari.say("/rujuk rsud visum")
    other.unread()
    assert other.say("tra usah")[0].startswith("Baik, Anda tidak dirujuk"), "no"
    assert any(f"Keluarga {second} tidak setuju dirujuk" in format_payload(p)
               for p in sari.unread())
    with service.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Referral)).scalar_one() == 2

    other.say("DARURAT")
    assert by_number(service.db, second).priority == "P0"
    assert sari.say("/rujuk polres_ppa ancaman senjata")[-1] == (
        f"Rujukan {second} ke Unit PPA Polres Mimika dicatat "
        "(dasar hukum kepentingan vital (darurat)).")


def test_ambil_respects_capacity(service: Service, clock: FrozenClock) -> None:
    """A counselor holds at most capacity (default 5) cases: the sixth /ambil is refused."""
    sari_id, sari = add_staff(service, "Sari", "c1")
    budi_id, budi = add_staff(service, "Budi", "c2")
    with service.db.begin() as conn:
        numbers = [waiting_case(conn, f"6281{i}", "P2", clock() - timedelta(minutes=20 - i))
                   for i in range(11)]
    for n in numbers[:5]:
        assert sari.say("/ambil")[0].startswith(f"Anda memegang kasus {n}")
    full = "Anda sudah memegang 5 kasus (batas). Selesaikan atau lepaskan satu dulu."
    assert sari.say("/ambil") == [full]
    assert sari.say(payload={"payload": f"take:{numbers[5]}"}) == [full]
    with service.db.connect() as conn:
        assert len(queue.held_by(conn, sari_id)) == 5
        assert [c.number for c in queue.waiting(conn)] == numbers[5:]
        budi_cap = conn.execute(select(Counselor.capacity).where(Counselor.id == budi_id)
                                ).scalar_one()
    assert budi_cap == 5
    for _ in range(5):
        budi.say("/ambil")
    assert budi.say("/ambil") == [full]
    assert sari.say("/alihkan Budi") == ["Budi sudah penuh (5 kasus)."]
    with service.db.connect() as conn:
        assert len(queue.held_by(conn, budi_id)) == 5


def test_bot_is_silent_while_a_counselor_holds_the_case(service: Service) -> None:
    """With a person on the case the family's words, MENU and choice numbers included, go to
    that person and the bot says nothing; BERHENTI is still answered by the bot."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    family.unread()
    for words in ("halo", "MENU", "1", "ULANG", "apa kabar"):
        assert family.say(words) == [], words
    assert [p["text"] for p in sari.unread()] == [
        f"[{number}] {w}" for w in ("halo", "MENU", "1", "ULANG", "apa kabar")]
    stop = family.say("BERHENTI")
    assert len(stop) == 1 and stop[0].startswith("Baik, persetujuan Anda kami catat")


def test_release_puts_the_case_back_and_the_bot_answers_again(service: Service) -> None:
    """/lepas returns the case to the queue, tells the family, re-alerts staff (not the one
    who let it go: a walk-through's counselor read "Kasus baru" for it), and the family's
    messages are the bot's again."""
    _, sari = add_staff(service, "Sari", "c1")
    _, budi = add_staff(service, "Budi", "c2")
    budi.say("/siaga")
    sari.say("/siaga")
    family = Person(service, "62811")
    number = family.intake()
    budi.unread()
    sari.say("/ambil")
    family.unread()
    sari.unread()
    assert sari.say("/lepas") == [f"Kasus {number} kembali ke antrean."]
    assert family.unread()[0]["text"].startswith("Petugas Anda tidak bisa melanjutkan saat ini.")
    realert = budi.unread()
    assert realert[0]["text"].startswith(f"Kasus {number} kembali ke antrean (dilepas petugas)")
    assert realert[0]["choices"][0]["value"] == f"take:{number}"
    case = by_number(service.db, number)
    assert (case.status, case.assignee_id) == ("waiting", None)
    assert family.say("halo?")[0].startswith(f"Pesan Anda sudah kami tambahkan ke kasus {number}")
    assert sari.unread() == []
    brief = budi.say(payload={"payload": f"take:{number}"})
    assert brief[0].startswith(f"Anda memegang kasus {number}")
    assert brief[1] == "Pesan keluarga selama menunggu:\n• halo?"


def test_the_queue_shows_every_p0_however_many(service: Service) -> None:
    """`/antrian` lists five cases, and every waiting P0 beyond them: a re-check's woman
    whose attacker was at the door was the seventh P0, and the counselor never saw her."""
    from datetime import timedelta

    _, sari = add_staff(service, "Sari", "c1")
    now = service.clock()
    with service.db.begin() as conn:
        for i, priority in enumerate(["P1", "P1"] + ["P0"] * 7):
            contact = conversations.touch_contact(conn, CHANNEL, f"f{i}", now)
            cases.create(conn, contact_id=contact.id, channel=CHANNEL,
                         now=now - timedelta(minutes=60 - i),
                         data={"priority": priority, "reasons": ["danger_now"],
                               "legal_basis": "vital_interest", "status": "waiting"})
    (shown,) = sari.say("/antrian")
    lines = shown.splitlines()
    assert lines[0].startswith("Antrean (9 menunggu)")
    assert sum(" · P0 · " in line for line in lines) == 7  # all of them, newest last
    assert not any(" · P1 · " in line for line in lines)  # five shown, and the P0s beyond


def test_a_sexual_violence_case_shows_the_uu_tpks_deadline(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """DOMAIN.md (Never 3): sexual violence must reach the police within 3x24 hours (UU TPKS
    Pasal 41), and nothing told staff so (walk I). The counselor who takes such a case reads
    the deadline in WIT, and so does `lk3 cases show`; other cases show none."""
    from bot.cli.caseshow import show
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    family.say("dia juga perkosa saya minggu lalu")
    case = by_number(service.db, number)
    assert "sexual_words" in case.reasons
    due = (utc(case.created_at) + timedelta(hours=72)).astimezone(
        timezone(timedelta(hours=9))).strftime("%Y-%m-%d %H:%M")
    sari.unread()
    brief = joined(sari.say("/ambil"))
    assert f"Batas lapor UU TPKS: {due} WIT" in brief, brief
    assert show(service.db, number) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("Batas lapor UU TPKS:"))
    assert line.split(":", 1)[1].strip().startswith(f"{due} WIT (kekerasan seksual"), line
    other = Person(service, "62812")
    plain = other.intake()
    capsys.readouterr()
    show(service.db, plain)
    assert "UU TPKS" not in capsys.readouterr().out


def test_a_referral_asked_at_another_question_keeps_where_the_family_goes_back_to(
        service: Service) -> None:
    """A family resting at one of the bot's own interrupting questions (the menu, say) when
    staff ask about a referral: after their answer they are back where that question would
    have taken them, not at the welcome."""
    from storage.models import Conversation

    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    family.intake(consent=AGREE)
    sari.say("/ambil")
    with service.db.begin() as conn:
        row = conn.execute(select(Conversation.id, Conversation.state, Conversation.answers)
                           ).one()
        resting = row.state
        conn.execute(Conversation.__table__.update().where(Conversation.id == row.id).values(
            state="menu", answers={**row.answers, "_return_to": resting}))
    sari.say("/rujuk uptd_ppa butuh pendampingan")
    family.say("iya")
    with service.db.connect() as conn:
        assert conn.execute(select(Conversation.state)).scalar_one() == resting
        assert conn.execute(select(func.count()).select_from(Referral)).scalar_one() == 1
