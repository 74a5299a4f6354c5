"""A pause because someone is near or looking ("sa mo berhenti dulu, mama tiri ada lihat"):
nothing more reaches her phone, not even as a reply, until she writes again (walk U-2).

Mid-intake the bot says so once, without numbers, and a counselor taking the case a minute
later is held like every word of staff; in a case a person holds, the bot stays silent, the
counselor hears in Indonesian why their next words wait, and her next message brings them.
Through the real pipeline with test channels and a frozen clock, as tests/test_handoff.py.
"""

from __future__ import annotations

from bot.service import Service
from tests.support import FrozenClock
from tests.test_handoff import AGREE, INTAKE, Person, add_staff, case_of

JOINED = "Sekarang Anda dilayani oleh Sari, petugas LK3"
STEPMOTHER = "sa mo berhenti dulu, mama tiri ada lihat"


def texts(person: Person) -> list[str]:
    return [str(p["text"]) for p in person.unread()]


def test_a_pause_mid_intake_holds_even_the_takeover_a_minute_later(
        service: Service, clock: FrozenClock) -> None:
    """At the category question of a case already open (afraid: P1), "nanti dulu, mama
    tiri ada lihat": one short line, no number list; Sari takes the case a minute later
    (before, the takeover went at once as a reply): nothing reaches her phone, Sari reads
    that it waits; "lanjut" an hour later brings the takeover first."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62811")
    for answer in ("halo", "1", "2", AGREE, "2"):  # chat, afraid, consent, adult
        family.say(answer)
    number = case_of(service.db, "62811").number
    sari.unread()

    said = family.say("nanti dulu, mama tiri ada lihat")
    assert said == ["Baik, kita berhenti dulu. Kami tidak akan mengirim pesan sampai Anda "
                    "menulis lagi. Bila sudah aman, ketik LANJUT. Jika dalam bahaya, ketik "
                    "DARURAT."]
    clock.advance(minutes=1)
    brief = sari.say(f"/ambil {number}")
    assert family.unread() == []
    assert "Pesan ke keluarga: 1 ditahan, dikirim segera setelah keluarga menulis lagi." \
        in brief

    clock.advance(hours=1)
    back = family.say("lanjut")
    assert back[0].startswith(JOINED), back


def test_a_pause_to_a_counselor_holds_her_words_until_the_family_writes(
        service: Service, clock: FrozenClock) -> None:
    """Transcript 35 of walk U: a girl whose case Sari holds writes that her stepmother is
    looking. The bot says nothing to her phone; Sari reads her words and, in Indonesian,
    that her next messages wait; "Baik ade, kaka tunggu ya" a minute later is held (it
    went at once); three hours later the girl's "kaka sa su bisa chat lagi" brings it first,
    Sari hears it went, and Sari's next words go at once."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62812")
    number = family.intake(consent=AGREE)
    sari.say(f"/ambil {number}")
    family.unread()
    sari.unread()

    assert family.say(STEPMOTHER) == []
    told = texts(sari)
    assert told[0] == f"[{number}] {STEPMOTHER}"
    assert told[1].startswith(f"Keluarga {number} minta berhenti dulu karena belum aman")
    assert "Pesan Anda berikutnya ditahan" in told[1]

    clock.advance(minutes=1)
    held = sari.say("Baik ade, kaka tunggu ya")
    assert held[0].startswith(f"Pesan Anda ke keluarga {number} belum dikirim: keluarga "
                              "baru saja minta berhenti dulu"), held
    assert family.unread() == []

    clock.advance(hours=3)
    assert family.say("kaka sa su bisa chat lagi") == ["Baik ade, kaka tunggu ya"]
    got = texts(sari)
    assert got[0] == f"Keluarga {number} menulis lagi: 1 pesan yang ditahan sudah dikirim " \
        "kepada mereka."
    assert got[1] == f"[{number}] kaka sa su bisa chat lagi"
    sari.say("Baik ade, kaka di sini.")
    assert texts(family) == ["Baik ade, kaka di sini."]


def test_other_words_to_a_counselor_hold_nothing(service: Service, clock: FrozenClock) -> None:
    """"nanti dulu, anak bangun" (a child woke, no one looking) and a story to the counselor
    are no such pause: the counselor's answer a minute later goes at once, as before."""
    _, sari = add_staff(service, "Sari Wenda", "c1")
    family = Person(service, "62813")
    number = family.intake(consent=AGREE)
    sari.say(f"/ambil {number}")
    family.unread()
    sari.unread()
    for words in ("nanti dulu, anak bangun", "de su pigi kerja, sa sendiri di rumah"):
        family.say(words)
        assert texts(sari) == [f"[{number}] {words}"]
        clock.advance(minutes=1)
        sari.say("Baik ibu")
        assert texts(family) == ["Baik ibu"]
    assert INTAKE  # (the intake the cases above went through: tests/test_handoff.py)
