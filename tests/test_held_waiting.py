"""A family whose case a counselor holds is not left waiting silently (walk U-1, U-10): their
danger words bring the numbers an intake gives and raise the case, and a message the
counselor leaves unanswered is told of to the family, the counselor, then the supervisors.
Through the real pipeline and scheduler, with a frozen clock (test channel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.casework import staff
from bot.casework.scheduler import Scheduler
from bot.service import Service
from flows.triage import describe
from tests.support import FrozenClock, deliver
from tests.test_handoff import Person, add_staff, by_number, events

# economy, another family member, Mimika Timur, this number, no message left (transcript 33)
P2_ECONOMY = ["halo", "1", "3", "1", "2", "6", "5", "6", "LEWATI", "2", "1", "LEWATI", "2",
              "LEWATI", "Suami kena PHK, anak-anak belum bayar sekolah."]
# couple conflict, myself, Mimika Baru, no injury, never hit, by this chat (transcript 31)
P2_COUPLE = ["halo", "1", "tra", "setuju", "sa 31", "1", "sa sendiri", "mimika baru", "LEWATI",
             "tra", "tra", "1", "LEWATI", "iya", "LEWATI",
             "sa deng paitua tiap hari baku marah soal paitua pu judi"]
# a girl writing: under 18, a trusted adult, her own trouble at home (tests/transcripts
# i3_child_path): a P1 case with the child's numbers, no danger words yet
CHILD = ["halo", "1", "3", "1", "1", "1", "3", "1", "1", "LEWATI", "2", "2", "2", "2", "2", "2",
         "1", "1", "LEWATI", "2", "LEWATI", "LEWATI"]
THREAT = "paitua su tau sa lapor, de bilang nanti malam de pukul sa"
TUESDAY_0900 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 WIT
THURSDAY_1330 = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)  # 13:30 WIT


def family_text(service: Service, key: str, **params: Any) -> str:
    return service.flows.bundle.catalog.text(key, "id", params)


def texts(person: Person) -> list[str]:
    return [str(p["text"]) for p in person.unread()]


def later(service: Service, clock: FrozenClock, **delta: float) -> None:
    """Time passes; the scheduler runs as its worker would, everything it sends delivered."""
    clock.advance(**delta)
    scheduler = Scheduler(service.db, clock)
    while scheduler.run_once():
        deliver(service)
    deliver(service)


def taken(service: Service, clock: FrozenClock, answers: list[str], start: datetime,
          user: str = "62819036") -> tuple[Person, Person, Person, str]:
    """Sari (on duty) takes the case of a family who finished `answers`, and writes once;
    Yohana supervises. Everyone's messages read."""
    clock.now = start
    _, sari = add_staff(service, "Sari Wenda", "c1")
    _, yohana = add_staff(service, "Yohana Magal", "s1", role="supervisor")
    sari.say("/siaga")
    family = Person(service, user)
    for words in answers:
        family.say(words)
    number = by_number(service.db, "LK3-2026-00001").number
    clock.advance(minutes=10)
    sari.say("/ambil")
    sari.say("Selamat pagi mama, sa Sari. Nanti sa telpon ya.")
    for person in (family, sari, yohana):
        person.unread()
    return family, sari, yohana, number


def test_a_family_waiting_in_service_hours_hears_once_and_a_threat_raises_the_case(
        service: Service, clock: FrozenClock) -> None:
    """Transcript 33: Sari writes once and goes silent. Two hours after "kaka jam brapa
    telpon?" the family hears once that Sari has it and Sari is reminded; the threat brings
    the P1 numbers at once and raises the case to P1 with its reason; Sari reads the raise
    and by when to answer; the supervisor hears it an hour of service later."""
    family, sari, yohana, number = taken(service, clock, P2_ECONOMY, TUESDAY_0900)
    later(service, clock, hours=1)
    assert family.say("kaka jam brapa telpon?") == []
    later(service, clock, hours=1)
    assert family.say("kaka sa tunggu dari tadi") == []
    assert texts(sari) == [f"[{number}] kaka jam brapa telpon?",
                           f"[{number}] kaka sa tunggu dari tadi"]
    assert texts(family) == []  # not yet two hours since her first unanswered message
    later(service, clock, minutes=61)
    assert texts(family) == [family_text(service, "held_wait.open", name="Sari")]
    (reminder,) = texts(sari)
    assert reminder.startswith(f"Pengingat: keluarga {number} menunggu balasan Anda sejak")
    assert staff.text("held_wait_told") in reminder
    assert texts(yohana) == []

    later(service, clock, minutes=1)
    answer = family.say(THREAT)
    assert len(answer) == 1 and "110" in answer[0] and "129" in answer[0]
    assert answer[0].startswith("Terima kasih sudah cerita. Anda tidak salah")
    case = by_number(service.db, number)
    assert case.priority == "P1" and "violence_words" in case.reasons
    (to_sari,) = texts(sari)
    assert THREAT in to_sari and to_sari.startswith("⚠️")
    assert staff.text("held_raised", priority="P1", reasons=describe(case.reasons)) in to_sari
    assert staff.text("held_numbers_told") in to_sari and "Mohon balas keluarga sebelum" \
        in to_sari
    assert texts(yohana) == []  # in service hours, Sari on duty: she has the hour

    assert family.say("de bilang de mo pukul sa lagi") == []  # once, not on every message
    texts(sari)
    later(service, clock, minutes=60)
    (late,) = texts(yohana)
    assert number in late and "Sari Wenda" in late and "P1" in late
    assert texts(family) == []  # told once
    later(service, clock, hours=2)
    assert texts(yohana) == [] and texts(family) == []  # once per wait


def test_a_threat_at_night_with_the_counselor_off_duty_reaches_the_supervisor_at_once(
        service: Service, clock: FrozenClock) -> None:
    """Transcript 31: Sari off duty after 15.00; "kaka?" at 15.06 is answered at 17.06 with
    the office's opening time and the 24-hour numbers; the threat at 21.07 brings the P1
    numbers, raises the case and tells the supervisor at once. Sari's words in the morning
    end the wait: nothing more reaches the supervisor."""
    family, sari, yohana, number = taken(service, clock, P2_COUPLE, THURSDAY_1330, "62819031")
    later(service, clock, minutes=90)  # 15.10
    sari.say("/siaga off")
    assert family.say("kaka?") == [] and family.say("kaka sa tunggu") == []
    assert len(texts(sari)) == 2  # her two messages
    later(service, clock, hours=2)
    (told,) = texts(family)
    assert told.startswith(family_text(service, "held_wait.closed", name="Sari",
                                       next_open="04-12-2026 08.00",
                                       emergency_contacts="").split("\n")[0])
    assert "110" in told and "129" in told
    (reminder,) = texts(sari)
    assert reminder.startswith("Pengingat:")
    assert texts(yohana) == []

    later(service, clock, hours=4)  # 21.10
    answer = family.say("kaka malam ini de pulang mabuk lagi, de ancam pukul sa kalo sa tra "
                        "kasi uang")
    assert len(answer) == 1 and "110" in answer[0]
    assert by_number(service.db, number).priority == "P1"
    (page,) = texts(yohana)
    assert number in page and "Sari Wenda" in page and "de ancam pukul sa" in page
    (to_sari,) = texts(sari)
    assert staff.text("held_supervisors_told") in to_sari

    later(service, clock, hours=10)  # 07.10 Friday
    sari.say("Selamat pagi mama, maaf kemarin sa rapat. Mama aman?")
    assert texts(family) == ["Selamat pagi mama, maaf kemarin sa rapat. Mama aman?"]
    assert by_number(service.db, number).family_waiting_since is None
    later(service, clock, hours=4)
    assert texts(yohana) == [] and texts(sari) == []
    assert [e["kind"] for e in events(service.db, number)].count("held_danger_now") == 1


def test_a_watched_phone_hears_the_wait_and_the_danger_only_as_replies_in_their_form(
        service: Service, clock: FrozenClock) -> None:
    """Her husband reads her phone: after two hours unanswered nothing is written to her
    first (Sari reads why); her next words, a threat, bring the P1 numbers saying staff
    answer after she writes, and the waiting notice in the same form."""
    clock.now = TUESDAY_0900
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62811")
    for words in P2_ECONOMY:
        family.say(words)
    family.say("paitua suka cek sa pu hp")
    number = by_number(service.db, "LK3-2026-00001").number
    clock.advance(minutes=5)
    sari.say(f"/ambil {number}")
    sari.say("Selamat pagi mama, sa Sari.")
    family.unread()
    sari.unread()
    later(service, clock, minutes=30)
    assert family.say("kaka?") == []
    texts(sari)
    later(service, clock, hours=2, minutes=1)
    assert texts(family) == []  # never written to first
    (reminder,) = texts(sari)
    assert "Mereka belum diberi tahu" in reminder

    answer = family.say("paitua pukul sa lagi")
    assert len(answer) == 2
    assert "110" in answer[0] and family_text(
        service, "crisis.staff.told.phone_watched") in answer[0]
    assert answer[1] == family_text(service, "held_wait.open.phone_watched", name="Sari")
    assert by_number(service.db, number).priority == "P1"


def test_a_child_hears_the_numbers_and_the_wait_in_kamu(service: Service,
                                                        clock: FrozenClock) -> None:
    """A girl whose case Sari holds writes that her father hit her again: the P1 text for a
    child ("kamu", an adult she trusts, TePSA first); two hours unanswered, "Pesanmu"."""
    family, sari, _, number = taken(service, clock, CHILD, TUESDAY_0900, "62815")
    later(service, clock, minutes=30)
    answer = family.say("bapa pukul sa lagi tadi malam")
    assert len(answer) == 1 and "Kamu tidak salah" in answer[0] and "1500-771" in answer[0]
    assert "Anda" not in answer[0]
    assert "violence_words" in by_number(service.db, number).reasons
    texts(sari)
    later(service, clock, hours=2, minutes=1)
    assert texts(family) == [family_text(service, "held_wait.open.young", name="Sari")]


def test_a_family_waiting_hears_once_the_counselor_is_reminded_then_the_supervisor(
        service: Service, clock: FrozenClock) -> None:
    """Walk U-10: "kaka jam brapa telpon?" unanswered for two hours: the family hears once
    that Sari has it, Sari is reminded; an hour of service later, the supervisor; nothing
    more, however long it waits."""
    family, sari, yohana, number = taken(service, clock, P2_ECONOMY, TUESDAY_0900)
    later(service, clock, hours=1)
    assert family.say("kaka jam brapa telpon?") == []
    texts(sari)
    later(service, clock, hours=2)
    assert texts(family) == [family_text(service, "held_wait.open", name="Sari")]
    (reminder,) = texts(sari)
    assert staff.text("held_wait_told") in reminder and "13.10 WIT" in reminder
    assert family.say("kaka?") == []  # told once
    texts(sari)
    later(service, clock, minutes=59)
    assert texts(yohana) == []
    later(service, clock, minutes=1)
    (late,) = texts(yohana)
    assert late.startswith(f"Kasus {number} (P2") and "sejak 10.10 WIT" in late
    later(service, clock, hours=5)
    assert texts(family) == texts(sari) == texts(yohana) == []
    kinds = [e["kind"] for e in events(service.db, number)]
    assert kinds.count("family_waiting") == 1 and kinds.count("family_waiting_late") == 1


def test_a_thank_you_keeps_no_one_waiting_and_an_answer_ends_the_wait(
        service: Service, clock: FrozenClock) -> None:
    """"makasih kaka 🙏" asks nothing: no notice, no reminder; a question does, until Sari
    answers it."""
    family, sari, _, number = taken(service, clock, P2_ECONOMY, TUESDAY_0900)
    assert family.say("makasih kaka 🙏") == []
    texts(sari)
    later(service, clock, hours=3)
    assert texts(family) == [] and texts(sari) == []
    family.say("kaka jadi telpon jam brapa?")
    later(service, clock, hours=1)
    sari.say("Jam 2 siang ya mama.")
    family.unread()
    sari.unread()
    later(service, clock, hours=3)
    assert texts(family) == [] and texts(sari) == []
    assert by_number(service.db, number).family_waiting_since is None
