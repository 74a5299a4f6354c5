"""Danger while a counselor holds the case: the family's words still reach the counselor, marked
as urgent when they have danger words (and the family hears that kind's 24-hour numbers, as
in an intake: tests/test_held_waiting.py); imminent danger is answered by the flow in the same
turn and pages the supervisors; safety words (BERHENTI, KELUAR) reach the counselor at once.
Through the real pipeline (test channel)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.casework import staff
from bot.service import Service
from storage.models import CaseEvent
from tests.support import flows
from tests.test_handoff import Person, add_staff

DANGER = "saya ingin mati"  # I want to die: danger words, not imminent
IMMINENT = "sa mau bunuh diri pakai tali malam ini"  # a method and a time: imminent


def held(service: Service) -> tuple[Person, Person, Person, str]:
    """A family whose P1 case Sari holds, and the supervisor Yohana (off duty)."""
    _, sari = add_staff(service, "Sari", "c1")
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family = Person(service, "62811")
    number = family.intake()
    sari.say("/ambil")
    for person in (family, sari, yohana):
        person.unread()
    return family, sari, yohana, number


def texts(person: Person) -> list[str]:
    return [p["text"] for p in person.unread()]


def events(service: Service, kind: str) -> list[dict[str, Any]]:
    with service.db.connect() as conn:
        return list(conn.execute(select(CaseEvent.data).where(CaseEvent.kind == kind)
                                 .order_by(CaseEvent.id)).scalars())


def test_the_scan_sees_what_these_tests_rely_on() -> None:
    """The crisis words: DANGER is danger but not imminent; IMMINENT is imminent."""
    crisis = flows().bundle.crisis
    assert crisis.scan(DANGER) and not crisis.scan(DANGER).imminent
    assert crisis.scan(IMMINENT).imminent


def test_danger_words_reach_the_counselor_marked_urgent(service: Service) -> None:
    """Danger words from a family a counselor holds: the family hears that kind's numbers
    once (walk U-1: nothing), the counselor gets the words with an urgent mark and what the
    bot said, and the case records what was seen."""
    family, sari, yohana, number = held(service)
    answer = family.say(DANGER)
    assert len(answer) == 1 and "119 ext. 8" in answer[0]  # the self-harm text, once
    groups = ", ".join(staff.text(f"danger.{g}") for g in flows().bundle.crisis.scan(
        DANGER).groups)
    (to_sari,) = texts(sari)
    assert to_sari.startswith(
        staff.text("danger_mark", number=number, groups=groups) + "\n"
        + staff.text("relay_in", number=number, text=DANGER) + "\n")
    assert staff.text("held_numbers_told") in to_sari
    assert texts(yohana) == []  # not imminent, in service hours: the counselor handles it
    (seen,) = events(service, "crisis_words")[-1:]
    assert seen["held_by"] is not None and seen["groups"]
    assert family.say("terima kasih") == []  # plain words: relayed as always, no mark
    assert texts(sari) == [f"[{number}] terima kasih"]


def test_imminent_danger_is_answered_by_the_flow_and_pages_the_supervisors(
        service: Service) -> None:
    """Imminent danger from a family a counselor holds: the flow answers with the emergency
    message in the same turn, the counselor gets the words marked urgent, supervisors are
    paged."""
    family, sari, yohana, number = held(service)
    answer = family.say(IMMINENT)
    assert answer and "119" in answer[0]  # the flow's emergency message (self-harm numbers)
    assert events(service, "emergency")  # the flow's own emergency: a P0 for staff
    to_sari = texts(sari)
    mark = staff.text("danger_now_mark", number=number, groups=staff.text("danger.selfharm"))
    assert f"{mark}\n" + staff.text("relay_in", number=number, text=IMMINENT) in to_sari
    paged = texts(yohana)
    assert paged and all(number in t for t in paged)


def test_supervisors_paged_for_danger_read_the_familys_whole_words(service: Service) -> None:
    """A story whose danger words come late (a walk-through: the page was cut at 40
    characters, "...trus paitua pula", and the blow and the bleeding head were lost)."""
    family, _, yohana, _ = held(service)
    story = ("de bilang sa tra becus. trus paitua pulang mabuk, de pukul sa pake kayu, sa pu "
             "kepala berdarah")
    assert family.say(story)
    paged = texts(yohana)
    assert paged and any(story in t for t in paged), paged


def test_a_number_answering_the_bots_safety_question_reaches_the_counselor_in_words(
        service: Service) -> None:
    """After DARURAT, the family answers "Apakah Anda aman sekarang?" with "2": the counselor
    reads what it chose (a walk-through's counselor read a bare "2", which said "still in
    danger")."""
    family, sari, _, number = held(service)
    assert family.say("DARURAT")
    texts(sari)
    family.say("2")
    label = flows().bundle.catalog.text("emergency.danger", "id")
    assert staff.text("relay_in", number=number, text=f"2 ({label})") in texts(sari)


def test_berhenti_and_keluar_from_a_held_family_reach_the_counselor(service: Service) -> None:
    """BERHENTI and KELUAR are the flow's to answer while a counselor holds the case, and the
    counselor hears of each at once (KELUAR: do not write until they write again)."""
    family, sari, _, number = held(service)
    assert family.say("KELUAR") == [
        service.flows.bundle.catalog.text("quick_exit.other", "id")]
    assert texts(sari) == [staff.text("family_quick_exit", number=number, word="KELUAR")]
    stop = family.say("BERHENTI")
    assert len(stop) == 1
    assert texts(sari) == [staff.text("family_withdrew", number=number, word="BERHENTI")]


def test_self_harm_words_a_second_time_are_answered_while_held(service: Service) -> None:
    """The engine's rule for a held case too: self-harm words a second time are P0, so the
    family gets the self-harm emergency message and the counselor the urgent copy."""
    family, sari, _, _ = held(service)
    assert len(family.say(DANGER)) == 1  # the first time: relayed, marked, the numbers
    replies = family.say("sa su cape hidup")
    assert replies and "119 ext. 8" in replies[0], replies
    assert any(t.startswith("⚠️") for t in texts(sari))



def test_a_number_for_the_question_on_screen_reaches_a_counselor_who_took_over_in_words(
        service: Service) -> None:
    """A P0 family back at the bot's question when Sari takes the case answers it with a
    number: Sari reads what it chose (a walk-through's counselor got a bare "1" meant for the
    consent question, and could not know); at the takeover the family heard that the
    question no longer needs an answer."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62812")
    family.say("tolong sa pu paitua ancam mo bunuh sa deng parang")
    family.say("1")  # safe now: back to the question it was at (how to talk)
    family.unread()
    sari.say("/ambil")
    texts(sari)
    # the family is told the bot's question no longer needs an answer
    assert texts(family) == [flows().bundle.catalog.text(
        "handoff.joined.mid_intake", "id", {"name": "Sari"})]
    family.say("2")
    label = flows().bundle.catalog.text("greeting.call", "id")
    assert texts(sari) == [staff.text("relay_in", number="LK3-2026-00001", text=f"2 ({label})")]


def test_words_at_the_safety_question_go_to_the_counselor_only(service: Service) -> None:
    """A family at "Apakah Anda aman sekarang?" when Sari takes the case writes to Sari in
    sentences: Sari reads them, and the bot says nothing (a walk-through: "Maaf, saya belum
    mengerti. Ketik PETUGAS..." to a woman talking to a counselor); a "2" there is still
    the bot's to answer, and Sari reads what it chose."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "62813")
    family.say("tolong sa pu paitua ancam mo bunuh sa deng parang")  # at the safety question
    family.unread()
    sari.say("/ambil")
    texts(sari)
    family.unread()
    words = "sa di rumah tetangga, anak2 su lari ikut sa. de tidur di dalam"
    assert family.say(words) == []
    assert staff.text("relay_in", number="LK3-2026-00001", text=words) in texts(sari)
    assert family.say("kaka Yosep sa su aman skali") == []
    texts(sari)
    still = family.say("2")
    assert still and "masih dalam bahaya" in still[0], still
    label = flows().bundle.catalog.text("emergency.danger", "id")
    assert any(f"2 ({label})" in t for t in texts(sari))


def test_the_bot_gives_no_advice_of_its_own_beside_the_counselors(service: Service) -> None:
    """A walk-through: a counselor had told a woman to stay behind the locked door; her next
    message with danger words brought the bot's emergency text, "pergi sekarang ke tempat
    aman (rumah tetangga...)". While a person holds the case, the danger is still answered in
    the same turn, with the numbers, but the advice is the counselor's; "still in danger"
    says the same, and the bot's intake question does not come back."""
    family, sari, _, number = held(service)
    catalog = flows().bundle.catalog
    answer = family.say("de su pukul pintu skarang, de bawa parang")
    assert answer[0].startswith("Pesan Anda sudah sampai ke petugas LK3 yang sedang menangani")
    assert "Polisi: 110" in answer[0] and "SAPA" in answer[0]
    assert not any("tetangga" in a or "tempat aman" in a for a in answer), answer
    assert len(answer) == 1 and catalog.text("emergency.short", "id") in answer[0]
    assert any(number in t for t in texts(sari))  # the counselor reads it, marked
    still = family.say("2")
    assert still == [catalog.text("emergency.still_ack.held", "id"),
                     catalog.text("handoff.resume", "id")]
    # words of wanting to die keep their own advice (never against a counselor's)
    assert "Nyawa Anda berharga" in family.say(IMMINENT)[0]


def test_self_harm_while_held_keeps_its_advice_and_names_the_counselor(
        service: Service) -> None:
    """Walk L: a man whose counselor was writing to him said he would end it tonight, and
    read "Pesan ini kami teruskan ke petugas LK3, yang akan menghubungi Anda secepatnya", as
    if nobody had his case. The self-harm advice stays (never against a counselor's), and
    the text says his message reached the person who holds his case."""
    family, sari, _, number = held(service)
    answer = family.say(IMMINENT)
    assert answer[0].startswith("Terima kasih sudah memberi tahu. Nyawa Anda berharga. Pesan "
                                "Anda sudah sampai ke petugas LK3 yang sedang menangani Anda")
    assert "119" in answer[0] and "jangan sendirian" in answer[0]
    assert "akan menghubungi Anda secepatnya" not in answer[0]
    assert any(number in t for t in texts(sari))
