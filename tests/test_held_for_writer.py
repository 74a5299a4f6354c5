"""What staff do reaches a family whose phone someone else reads only once she writes.

"paitua suka cek sa pu hp" (the contact constraint wait_for_writer): a counselor taking,
releasing or closing her case, and the counselor's own words, are held and sent right after
her next message (bot.pipeline.held), so she learns a person took over as soon as she writes
(Never 7), and nothing lands first in the chat her husband reads. Through the real pipeline
with test channels and a frozen clock, as tests/test_handoff.py.
"""

from __future__ import annotations

import pytest

from bot.cli import caseshow
from bot.service import Service
from tests.support import FrozenClock, days_pass
from tests.test_handoff import AGREE, Person, add_staff, case_of

WATCHED = "sa pu paitua pukul sa. paitua suka cek sa pu hp"
JOINED = "Sekarang Anda dilayani oleh Sari, petugas LK3"
LATER = 30  # minutes: well past writer_reply_minutes (flows/service.yaml)


def texts(person: Person) -> list[str]:
    return [str(p["text"]) for p in person.unread()]


def watched_case(service: Service, user: str = "62811") -> tuple[Person, str]:
    """DARURAT, then violence and a phone her husband checks: a P0 with the constraint."""
    family = Person(service, user)
    family.say("DARURAT")
    family.say(WATCHED)
    family.unread()
    return family, case_of(service.db, user).number


def taken_unheard(counselor: Person, family: Person, number: str) -> None:
    """A counselor takes the case: nothing reaches the family; the brief says it waits."""
    brief = counselor.say(f"/ambil {number}")
    assert family.unread() == []
    assert "Pesan ke keluarga: 1 ditahan, dikirim segera setelah keluarga menulis lagi." \
        in brief


def test_a_counselor_taking_the_case_is_told_to_her_only_when_she_writes(
        service: Service, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """Taken 30 minutes after she wrote: nothing reaches her phone (a family without the
    constraint hears at once), the counselor and `lk3 cases show` say it waits; her next
    message brings the takeover first, and the counselor hears it went."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    other = Person(service, "62822")
    other.say("DARURAT")
    other.unread()
    free = case_of(service.db, "62822").number
    clock.advance(minutes=LATER)

    taken_unheard(sari, family, number)
    assert caseshow.show(service.db, number, clock()) == 0
    assert "Pesan ke keluarga: 1 ditahan" in capsys.readouterr().out
    sari.say(f"/ambil {free}")
    assert texts(other)[0].startswith(JOINED)  # unchanged without the constraint

    assert family.say("halo")[0].startswith(JOINED)
    told = [str(p["text"]) for p in sari.unread()]
    assert told[0] == f"Keluarga {number} menulis lagi: 1 pesan yang ditahan sudah dikirim " \
        "kepada mereka."
    assert told[1] == f"[{number}] halo"


def test_within_minutes_of_her_message_staff_words_are_a_reply(
        service: Service, clock: FrozenClock) -> None:
    """Taken 3 minutes after she wrote: a reply, sent at once; the counselor's words 30
    minutes later are held (the counselor is told, in Indonesian, not to type them again)
    and reach her right after her next message."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=3)
    sari.say(f"/ambil {number}")
    assert texts(family)[0].startswith(JOINED)

    clock.advance(minutes=LATER)
    said = sari.say("Halo ibu, sa Sari. Ibu aman?")
    assert said[0].startswith(f"Pesan Anda ke keluarga {number} belum dikirim")
    assert "tidak perlu diketik ulang" in said[0]
    assert family.unread() == []
    assert family.say("sa aman kaka")[0] == "Halo ibu, sa Sari. Ibu aman?"
    assert [str(p["text"]) for p in sari.unread()][-1] == f"[{number}] sa aman kaka"
    sari.say("Baik ibu.")  # a reply now
    assert texts(family) == ["Baik ibu."]


def served_then_away(service: Service, clock: FrozenClock) -> tuple[Person, Person, str]:
    """Sari took her case and wrote to her; she has not written for LATER minutes."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    sari.say(f"/ambil {number}")
    family.unread()
    sari.say("Halo ibu")
    family.unread()
    clock.advance(minutes=LATER)
    return sari, family, number


def test_closing_and_the_rating_question_wait_for_her_next_message(
        service: Service, clock: FrozenClock) -> None:
    """Closed 30 minutes after she last wrote: neither the closing nor the rating question
    goes; when she writes, both come, in order, before the bot's answer to her words."""
    sari, family, number = served_then_away(service, clock)

    closed = sari.say("/selesai selesai")
    assert closed[0] == f"Kasus {number} ditutup dengan hasil selesai."
    assert closed[1].startswith(f"Pesan ke keluarga {number} belum dikirim")
    assert family.unread() == []
    clock.advance(hours=5)
    heard = family.say("halo")
    assert heard[0].startswith(f"Kasus {number} sudah ditutup")
    assert heard[1].startswith("(Boleh dilewati) Seberapa puas")
    assert heard[2] == "Halo, terima kasih sudah menulis."


def test_her_words_that_bring_the_rating_question_do_not_answer_it(
        service: Service, clock: FrozenClock) -> None:
    """Walk S-13: her "ok" a day after the closing brought the closing and the rating
    question, and was itself read as skipping that question ("Terima kasih. Jika butuh
    bantuan lagi ..."). It brings them, and her next words answer it."""
    sari, family, number = served_then_away(service, clock)
    sari.say("/selesai selesai")
    clock.advance(hours=20)
    heard = family.say("ok")
    assert heard[0].startswith(f"Kasus {number} sudah ditutup")
    assert heard[1].startswith("(Boleh dilewati) Seberapa puas") and len(heard) == 2, heard
    assert family.say("5")[0].startswith("Terima kasih")
    assert [str(p["text"]) for p in sari.unread()][-1] == \
        f"Keluarga {number} memberi nilai kepuasan 5."


def test_keluar_keeps_them_held_and_releasing_the_case_waits_too(
        service: Service, clock: FrozenClock) -> None:
    """KELUAR is her hiding the chat: what is held stays held; /lepas is held as well; her
    next words bring both, oldest first."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    family.say("KELUAR")
    assert not any(t.startswith(JOINED) for t in texts(family))
    sari.unread()  # "Keluarga ... mengetik KELUAR"
    let_go = sari.say("/lepas")
    assert let_go[0] == f"Kasus {number} kembali ke antrean."
    assert let_go[1] == f"Pesan ke keluarga {number} belum dikirim: pesan sebelumnya ke " \
        "keluarga ini masih menunggu mereka menulis. Pesan itu ditahan dan dikirim segera " \
        "setelah keluarga menulis lagi; Anda diberi tahu saat terkirim."
    assert family.unread() == []
    heard = texts(family) + family.say("halo")
    assert heard[0].startswith(JOINED)
    assert heard[1].startswith("Petugas Anda tidak bisa melanjutkan saat ini.")


def test_the_referral_question_is_refused_while_it_would_wait(
        service: Service, clock: FrozenClock) -> None:
    """/rujuk asks her in the chat, and her next words answer it: while it would wait, it
    is not sent at all and the counselor is told why and when to ask again."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62811")
    number = family.intake(consent=AGREE)  # counselling only: a referral is asked
    family.say("paitua suka cek sa pu hp")
    family.unread()
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    refused = sari.say("/rujuk uptd_ppa butuh pendampingan")
    assert refused[0].startswith(f"Pertanyaan rujukan tidak dikirim ke keluarga {number}")
    assert family.unread() == []
    family.say("halo")
    family.unread()
    sari.unread()
    asked = sari.say("/rujuk uptd_ppa butuh pendampingan")  # a reply to her words now
    assert asked[0].startswith(f"Keluarga {number} belum setuju dirujuk")


def test_her_phone_is_still_protected_after_her_case_is_closed(
        service: Service, clock: FrozenClock) -> None:
    """Someone reads her phone: her case taken, answered and closed (within minutes of her
    words, so sent), a day later she writes DARURAT again; the counselor who takes the new
    case 30 minutes after that is held too, and she hears of the takeover when she writes."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    _, budi = add_staff(service, "Budi Kogoya", "c2")
    family, number = watched_case(service)
    sari.say(f"/ambil {number}")
    sari.say("Halo ibu, sa Sari.")
    assert sari.say("/selesai selesai")[0] == f"Kasus {number} ditutup dengan hasil selesai."
    assert any(t.startswith(f"Kasus {number} sudah ditutup") for t in texts(family))
    clock.advance(days=1)
    family.say("DARURAT")
    again = case_of(service.db, "62811").number
    assert again != number
    clock.advance(minutes=LATER)

    taken_unheard(budi, family, again)
    assert family.say("halo")[0].startswith("Sekarang Anda dilayani oleh Budi, petugas LK3")


def test_not_safe_to_chat_holds_the_takeover_until_she_writes(
        service: Service, clock: FrozenClock) -> None:
    """'Not safe to chat now' answered in the intake (paused), and Sari takes the case half
    an hour later: nothing is sent and Sari reads that it waits; when she writes, the takeover comes
    first, her words reach Sari, and Sari's answer then goes as a reply."""
    from tests.test_handoff import INTAKE
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62811")
    for answer in [*INTAKE[:15], "2"]:  # ... safe to chat? no
        paused = family.say(answer.format(consent=AGREE))
    assert "Kami tidak akan mengirim pesan lagi sampai Anda menulis" in paused[-1]
    number = case_of(service.db, "62811").number
    clock.advance(minutes=LATER)

    taken_unheard(sari, family, number)
    heard = family.say("sa su aman skarang")
    assert heard[0].startswith(JOINED) and len(heard) == 1  # the bot says nothing more
    assert texts(sari)[-1] == f"[{number}] sa su aman skarang"
    sari.say("Baik ibu, sa Sari. Ibu aman?")
    assert texts(family) == ["Baik ibu, sa Sari. Ibu aman?"]


def test_a_transfer_while_the_takeover_waits_is_told_after_it(
        service: Service, clock: FrozenClock) -> None:
    """Sari's takeover waits for her; Sari hands the case to Budi: that waits too, Budi is
    told the case is his and what waits; her next message brings Sari's takeover, then
    Budi's, in that order, and her words reach Budi, who hears the messages went."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    _, budi = add_staff(service, "Budi Kogoya", "c2")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    moved = sari.say("/alihkan Budi Kogoya")
    assert moved[1].startswith(f"Pesan ke keluarga {number} belum dikirim")
    assert family.unread() == []
    told = texts(budi)
    assert told[0].startswith(f"Kasus {number} (P0) diserahkan kepada Anda oleh Sari Wenda")

    heard = family.say("halo")
    assert heard[0].startswith(JOINED)
    assert heard[1].startswith("Kasus Anda sekarang ditangani oleh Budi, petugas LK3")
    got = texts(budi)
    assert got[0] == f"Keluarga {number} menulis lagi: 2 pesan yang ditahan sudah dikirim " \
        "kepada mereka."
    assert got[-1] == f"[{number}] halo"
    assert all("halo" not in t for t in texts(sari))


def test_an_urgent_case_whose_words_wait_is_flagged_but_not_taken_back(
        service: Service, clock: FrozenClock) -> None:
    """A review: a counselor's words to a watched phone waited for her, and the scheduler
    left the urgent case alone for ever (Never 10). The supervisor is still told it had no
    message reach the family; the case is not taken from the counselor who wrote."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family, number = watched_case(service)
    clock.advance(minutes=LATER)
    sari.say(f"/ambil {number}")
    sari.say("Halo ibu, sa Sari.")
    assert family.unread() == []
    yohana.unread()
    days_pass(service, clock, 4)
    told = [str(p["text"]) for p in yohana.unread()]
    case = case_of(service.db, "62811")
    assert any(f"Kasus {number} ({case.priority}) dipegang Sari" in t for t in told), told
    assert case.status == "claimed" and case.priority in ("P0", "P1")
