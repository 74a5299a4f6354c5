"""A family whose case a counselor holds is not left waiting silently (walk U-10): a message
the counselor leaves unanswered is told of to the family, the counselor, then the
supervisors. Through the real pipeline and scheduler, with a frozen clock (test channel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.casework import staff
from bot.casework.scheduler import Scheduler
from bot.service import Service
from tests.support import FrozenClock, deliver
from tests.test_handoff import Person, add_staff, by_number, events

# economy, another family member, Mimika Timur, this number, no message left (transcript 33)
P2_ECONOMY = ["halo", "1", "3", "1", "2", "6", "5", "6", "LEWATI", "2", "1", "LEWATI", "2",
              "LEWATI", "Suami kena PHK, anak-anak belum bayar sekolah."]
TUESDAY_0900 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 WIT


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
