"""Staff hear when a family withdraws consent or chases a late case, and the family hears
when its case goes back to the queue (walk S-8), through the real pipeline."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.casework.scheduler import Scheduler
from bot.cli import caseshow
from bot.service import Service
from storage import cases
from storage.models import Counselor
from tests.support import FrozenClock, days_pass, deliver
from tests.test_handoff import Person, add_staff, by_number, case_of

# before consent: no safe place tonight (P1), consent, adult, a child's trouble, myself,
# Wania, then BERHENTI at the kampung question
P1_THEN_STOP = ["halo", "1", "3", "sa tra punya tempat aman malam ini", "1", "2", "3", "1",
                "2", "BERHENTI"]


def test_berhenti_on_a_waiting_p1_shows_on_the_case_and_staff_are_told(
        service: Service, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """The case's basis says consent was withdrawn (`lk3 cases show`), and the supervisor
    hears it in Indonesian: kept for safety only, no contact unless a life is in danger."""
    _, budi = add_staff(service, "Budi", "s1", role="supervisor")
    family = Person(service, "62811")
    for text in P1_THEN_STOP:
        family.say(text)
    case = case_of(service.db, "62811")
    with service.db.connect() as conn:
        basis = cases.triage_of(conn, case.id).legal_basis
    assert (case.priority, basis) == ("P1", "consent_withdrawn")
    assert caseshow.show(service.db, case.number, clock()) == 0
    assert "persetujuan ditarik (BERHENTI); hanya demi keselamatan" in capsys.readouterr().out
    told = [str(p["text"]) for p in budi.unread()]
    assert f"Keluarga {case.number} (P1) menarik persetujuan (BERHENTI). Kasus tetap " \
        "ditangani hanya demi keselamatan (kepentingan vital)" in told[-1]


def test_a_case_returned_unanswered_is_told_to_the_family_and_her_next_words_to_staff(
        service: Service, clock: FrozenClock) -> None:
    """The scheduler takes back a case its counselor never answered: the family hears it
    is back in the queue; when she asks later, on-duty staff and the supervisor are told,
    with her words and a button to take it."""
    _, sari = add_staff(service, "Sari", "c1")
    _, budi = add_staff(service, "Budi", "s1", role="supervisor")
    with service.db.begin() as conn:
        conn.execute(update(Counselor).values(on_duty=True))
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    family.unread()
    scheduler = Scheduler(service.db, clock)
    said: list[str] = []
    for _ in range(5):
        clock.advance(days=1)
        scheduler.run_once()
        deliver(service)
        said += [str(p["text"]) for p in family.unread()]
    assert by_number(service.db, number).status == "waiting"
    assert any(t.startswith(f"Maaf, petugas yang memegang kasus {number} belum sempat")
               for t in said), said
    sari.unread()
    budi.unread()
    clock.advance(minutes=45)
    family.say("halo kaka, kapan petugas telpon? su 5 hari")
    for person in (sari, budi):
        got = person.unread()
        assert any(str(p["text"]).startswith(f"Keluarga {number} menulis lagi; kasus belum "
                                             "dipegang") and "su 5 hari" in str(p["text"])
                   for p in got), got
    family.say("halo?")  # within the half hour: no second alert
    assert budi.unread() == []


def test_a_family_that_said_berhenti_is_not_told_its_case_went_back(
        service: Service, clock: FrozenClock) -> None:
    """A review: the counselor cannot write to a family that said BERHENTI, so the scheduler
    takes the case back; "Maaf, petugas ... belum sempat" went to a family promised nothing
    more until they write. Nothing is sent; the case is back in the queue."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    family.unread()
    family.say("BERHENTI")
    family.unread()
    days_pass(service, clock, 5)
    assert by_number(service.db, number).status == "waiting"
    assert family.unread() == []


def test_taking_a_case_whose_family_said_berhenti_shows_its_legal_basis(
        service: Service, clock: FrozenClock) -> None:
    """The brief on `/ambil` says the basis is consent withdrawn, for safety only; a case
    with consent has no such line."""
    _, sari = add_staff(service, "Sari", "c1")
    with service.db.begin() as conn:
        conn.execute(update(Counselor).values(on_duty=True))
    family = Person(service, "62811")
    for text in P1_THEN_STOP:
        family.say(text)
    number = case_of(service.db, "62811").number
    sari.unread()
    brief = [str(p["text"]) for p in sari.say_raw(f"/ambil {number}")]
    assert any(t.startswith("Dasar hukum: persetujuan ditarik (BERHENTI); hanya demi "
                            "keselamatan. Keluarga menarik persetujuan") for t in brief), brief
    other = Person(service, "62812")
    second = other.intake()
    brief = [str(p["text"]) for p in sari.say_raw(f"/ambil {second}")]
    assert any(t.startswith(f"Anda memegang kasus {second}") for t in brief), brief
    assert not any("Dasar hukum" in t for t in brief), brief


def _late_waiting_case(service: Service, clock: FrozenClock,
                       user: str = "62811") -> tuple[Person, Person, str]:
    """An intake nobody takes, five days on (the scheduler's last alert 45 minutes ago)."""
    _, sari = add_staff(service, "Sari", "c1")
    with service.db.begin() as conn:
        conn.execute(update(Counselor).values(on_duty=True))
    family = Person(service, user)
    number = family.intake()
    scheduler = Scheduler(service.db, clock)
    for _ in range(5):
        clock.advance(days=1)
        scheduler.run_once()
        deliver(service)
    clock.advance(minutes=45)
    family.unread()
    sari.unread()
    return family, sari, number


@pytest.mark.parametrize("chase", ["halo kaka, kapan petugas telpon? su 5 hari",
                                   "kapan petugas telpon?", "kk sa masih tunggu ini"])
def test_a_family_chasing_a_late_case_hears_sorry_and_that_staff_were_reminded(
        service: Service, clock: FrozenClock, chase: str) -> None:
    """Past its deadline, her message gets an apology and "reminded just now" (not "added to
    the case" nor a response time already passed), once per alert window; staff are alerted."""
    family, sari, number = _late_waiting_case(service, clock)
    said = family.say(chase)
    assert said and said[0].startswith(f"Maaf, Anda sudah menunggu lebih lama dari yang kami "
                                       f"janjikan untuk kasus {number}. Kami baru saja "
                                       "mengingatkan petugas LK3 lagi"), said
    assert "DARURAT" in said[0]
    assert not any("sudah kami tambahkan" in t or "akan menghubungi Anda dalam" in t
                   for t in said), said
    assert any(str(p["text"]).startswith(f"Keluarga {number} menulis lagi")
               for p in sari.unread())
    clock.advance(minutes=5)
    again = family.say("halo?")  # the same alert window: the ordinary reply, no alert
    assert not any(t.startswith("Maaf, Anda sudah menunggu") for t in again), again
    assert sari.unread() == []
    clock.advance(minutes=40)
    assert family.say("kaka?")[0].startswith("Maaf, Anda sudah menunggu")


def test_a_family_writing_before_the_deadline_reads_the_ordinary_reply(
        service: Service, clock: FrozenClock) -> None:
    """Not late yet: no apology, no alert; a thank-you after the intake is not a chase."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62811")
    number = family.intake()
    sari.unread()
    for text in ("makasih kaka", "sa tunggu e", "kapan petugas telpon?"):
        said = family.say(text)
        assert not any(t.startswith("Maaf, Anda sudah menunggu") for t in said), said
    assert not any(str(p["text"]).startswith(f"Keluarga {number} menulis lagi")
                   for p in sari.unread())
