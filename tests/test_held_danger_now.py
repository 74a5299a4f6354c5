"""Danger now from a family whose case a person holds is paged again on the P0 clock until
staff write to them (walk V-1: "malam ini sa mau minum racun saja" at 21.00, the holder off
duty: one page, then eleven hours of silence to staff and family). Through the real pipeline
and scheduler, with a frozen clock (test channel)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.service import Service
from tests.support import FrozenClock
from tests.test_handoff import Person, add_staff, by_number, events
from tests.test_held_waiting import P2_COUPLE, P2_ECONOMY, later, taken, texts

POISON = "kaka sa su tra kuat, malam ini sa mau minum racun saja"
THURSDAY_1330 = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)  # 13:30 WIT
NO_ANSWER = "Maaf, belum ada petugas LK3 yang menjawab."


def minutes(service: Service, clock: FrozenClock, count: int) -> None:
    """`count` minutes pass, the scheduler running every minute."""
    for _ in range(count):
        later(service, clock, minutes=1)


def pages(person: Person, number: str) -> list[str]:
    return [t for t in texts(person) if t.startswith(f"⚠️ DARURAT {number}")]


def test_danger_at_night_with_the_holder_off_duty_pages_the_supervisor_until_one_writes(
        service: Service, clock: FrozenClock) -> None:
    """Walk V-1: Sari off duty; at 21.00 the family writes of poison tonight. Yohana is paged
    at once, again at 21.05, 21.08, 21.11..., told to take over with /kasus N absen; the family
    hears at 21.05 that nobody has answered yet, with the 24-hour numbers, and again half an
    hour later, not every three minutes. Sari, off duty, is not woken every three minutes.
    Yohana opens the case and writes: nothing more to anyone."""
    family, sari, yohana, number = taken(service, clock, P2_COUPLE, THURSDAY_1330, "62819041")
    later(service, clock, minutes=95)  # 15.15
    sari.say("/siaga off")  # off duty
    sari.unread()
    clock.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 21.00 WIT
    answer = family.say(POISON)
    assert answer and "119" in answer[0]  # the emergency message, as before
    first = texts(yohana)
    assert any(POISON in t for t in first)  # the page at once, as before
    assert by_number(service.db, number).priority == "P0"
    texts(sari)

    minutes(service, clock, 4)  # 21.04: not yet the P0 target
    assert texts(yohana) == [] and texts(family) == []
    minutes(service, clock, 1)  # 21.05
    (page,) = pages(yohana, number)
    assert "Sari Wenda (tidak siaga)" in page and "pukul 21.00 WIT" in page
    assert f"/kasus {number} absen" in page
    (told,) = texts(family)
    assert told.startswith(NO_ANSWER) and "119" in told
    minutes(service, clock, 2)  # 21.07
    assert texts(yohana) == []
    minutes(service, clock, 1)  # 21.08
    assert len(pages(yohana, number)) == 1
    minutes(service, clock, 3)  # 21.11
    assert len(pages(yohana, number)) == 1
    assert texts(family) == []  # told at most every half hour
    assert texts(sari) == []  # off duty: the supervisors take it
    minutes(service, clock, 24)  # 21.35
    assert len(pages(yohana, number)) == 8
    (again,) = texts(family)
    assert again.startswith(NO_ANSWER)

    assert yohana.say(f"/kasus {number} absen") == [f"Kasus aktif sekarang {number}."]
    yohana.say("Mama, sa Yohana dari LK3. Mama di mana skarang? Ada orang yang temani?")
    assert texts(family) == ["Mama, sa Yohana dari LK3. Mama di mana skarang? Ada orang yang "
                             "temani?"]
    texts(yohana)
    minutes(service, clock, 40)
    assert texts(yohana) == [] and texts(family) == [] and texts(sari) == []
    kinds = [e["kind"] for e in events(service.db, number)]
    assert kinds.count("held_p0_realert") == 11  # 21.05 to 21.35


def test_darurat_with_the_holder_on_duty_but_silent_pages_her_and_the_supervisor(
        service: Service, clock: FrozenClock) -> None:
    """Sari on duty, in service hours, does not answer DARURAT: from five minutes after it,
    every three minutes, she is asked to answer and Yohana to take over; the family hears
    that nobody has answered yet. Sari's words end it."""
    family, sari, yohana, number = taken(service, clock, P2_COUPLE, THURSDAY_1330, "62819042")
    later(service, clock, minutes=20)  # 13.50
    family.say("DARURAT")
    assert by_number(service.db, number).priority == "P0"
    for person in (family, sari, yohana):
        person.unread()
    minutes(service, clock, 5)
    (to_sari,) = pages(sari, number)
    assert "Mohon balas keluarga sekarang" in to_sari
    (to_yohana,) = pages(yohana, number)
    assert "Sari Wenda (siaga)" in to_yohana and f"/kasus {number} absen" in to_yohana
    (told,) = texts(family)
    assert told.startswith(NO_ANSWER)
    minutes(service, clock, 3)
    assert len(pages(sari, number)) == 1 and len(pages(yohana, number)) == 1
    sari.say("Mama, sa Sari. Sa telpon skarang ya.")
    assert texts(family) == ["Mama, sa Sari. Sa telpon skarang ya."]
    texts(sari)
    minutes(service, clock, 30)
    assert texts(yohana) == [] and texts(sari) == [] and texts(family) == []


def test_a_released_case_is_paged_as_a_waiting_p0(service: Service,
                                                  clock: FrozenClock) -> None:
    """Released after the danger: the held clock stops, the waiting P0's takes over (one
    page every three minutes to each, never two)."""
    family, sari, yohana, number = taken(service, clock, P2_COUPLE, THURSDAY_1330, "62819043")
    family.say("DARURAT")
    minutes(service, clock, 5)
    sari.say("/lepas")
    for person in (family, sari, yohana):
        person.unread()
    minutes(service, clock, 3)
    paged = [t for t in texts(yohana) if number in t]
    assert len(paged) == 1 and paged[0].startswith(f"DARURAT {number} belum diambil")


def test_a_watched_phone_hears_the_update_only_with_the_reply_to_their_words(
        service: Service, clock: FrozenClock) -> None:
    """Her husband reads her phone: the update is not written to her first; her next words
    bring it, once, in the form for a watched phone. Staff are paged as for anyone."""
    clock.now = THURSDAY_1330
    _, sari = add_staff(service, "Sari Wenda", "c1")
    _, yohana = add_staff(service, "Yohana Magal", "s1", role="supervisor")
    family = Person(service, "62819044")
    for words in P2_ECONOMY:
        family.say(words)
    family.say("paitua suka cek sa pu hp")
    number = by_number(service.db, "LK3-2026-00001").number
    sari.say(f"/ambil {number}")
    sari.say("Selamat siang mama, sa Sari.")
    later(service, clock, minutes=30)
    family.say("DARURAT")
    for person in (family, sari, yohana):
        person.unread()
    minutes(service, clock, 20)
    assert pages(yohana, number)
    assert texts(family) == []  # never written to first
    reply = family.say("kaka?")
    assert len(reply) == 1 and reply[0].startswith(NO_ANSWER)
    assert not any(t.startswith(NO_ANSWER) for t in family.say("kaka tolong"))  # once
