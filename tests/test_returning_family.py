"""A family back after a closed case (walk S-7): welcomed back briefly, its new case linked
to the earlier one for staff, its earlier counselor told; a case number it writes is heard
as one, and never says anything of another family's case."""

from __future__ import annotations

import pytest

from bot.cli.caseshow import show
from bot.service import Service
from flows.casenumbers import read
from storage import cases
from tests.support import FrozenClock
from tests.test_handoff import Person, add_staff, case_of, closed_case, events, joined

RETURN = ("halo kaka, sa mama yang kemarin tanya soal anak tra mau sekolah. skarang de lari "
          "dari rumah su 2 malam tra pulang")
FIRST_CONTACT = "Lembaga Konsultasi Kesejahteraan Keluarga"  # only in the whole welcome
BACK = "selamat datang kembali"
NOTED = "nomor kasus yang Anda tulis sudah kami catat"


def _back(service: Service, clock: FrozenClock) -> tuple[Person, str, Person, Person]:
    """Sari served and closed a family's case; Yohana supervises; six days pass."""
    _, yohana = add_staff(service, "Yohana", "s1", role="supervisor")
    family, old = closed_case(service)
    sari = Person(service, "c1")
    sari.unread(), yohana.unread()
    clock.advance(days=6)
    return family, old, sari, yohana


def test_a_returning_mother_gets_help_first_then_the_short_welcome(
        service: Service, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """Her child gone two nights: the child's emergency text first; once she answers, the
    short welcome back (a bot, DARURAT), not the first-contact text; the new case names
    the earlier one to staff, in the alert and in `lk3 cases show`, and Sari hears it."""
    family, old, sari, yohana = _back(service, clock)
    first = family.say(RETURN)
    assert first[0].startswith("Keselamatan anak yang utama"), first
    assert FIRST_CONTACT not in joined(first) and BACK not in joined(first).lower()
    new = case_of(service.db, family.user)
    assert new.number != old and new.priority == "P0"
    alert = joined(p["text"] for p in yohana.unread())
    assert f"Kasus baru {new.number}" in alert
    assert "distrik belum diketahui" in alert  # not yet asked: the earlier case says where
    assert f"pernah punya kasus {old} (ditutup 30-11-2026, petugas Sari, distrik Mimika " \
        "Baru)" in alert  # she lived then (walk U-9)
    told = joined(p["text"] for p in sari.unread())
    assert f"Keluarga yang pernah Anda layani (kasus {old})" in told and new.number in told
    welcome = joined(family.say("1"))
    assert BACK in welcome.lower() and "bukan manusia" in welcome and "DARURAT" in welcome
    assert FIRST_CONTACT not in welcome and "1. Lanjut chat" in welcome
    capsys.readouterr()
    assert show(service.db, new.number) == 0
    assert f"Kasus sebelumnya:  {old} (ditutup 30-11-2026, petugas Sari, distrik Mimika Baru)" in \
        capsys.readouterr().out


def test_a_returning_family_writing_hello_is_welcomed_back_briefly(
        service: Service, clock: FrozenClock) -> None:
    """"halo kaka" after a closed case: the short welcome (still a bot, still DARURAT)."""
    family, _, sari, _ = _back(service, clock)
    welcome = joined(family.say("halo kaka"))
    assert BACK in welcome.lower() and "asisten otomatis, bukan manusia" in welcome
    assert "DARURAT" in welcome and FIRST_CONTACT not in welcome
    assert sari.unread() == []  # no case yet, nothing to tell


def test_a_first_contact_still_gets_the_whole_welcome(service: Service) -> None:
    """A family that never had a case is not welcomed back."""
    welcome = joined(Person(service, "62899").say("halo kaka"))
    assert FIRST_CONTACT in welcome and BACK not in welcome.lower()


def test_her_own_case_number_is_noted_and_her_counselor_told(
        service: Service, clock: FrozenClock) -> None:
    """"sa pu nomor kasus LK3-..." is no choice ("nomor bantuan"): noted, the question asked
    again, and Sari hears which case the family means."""
    family, old, sari, yohana = _back(service, clock)
    family.say("halo kaka")
    out = joined(family.say(f"sa pu nomor kasus {old}"))
    assert NOTED in out and "Maksud Anda" not in out and "1. Lanjut chat" in out
    told = joined(p["text"] for p in sari.unread())
    assert f"Keluarga kasus {old} (ditutup 30-11-2026, petugas Sari, distrik Mimika Baru) " \
        "menulis lagi" in told
    assert yohana.unread() == []
    assert any(e["kind"] == "case_number_told" and e["data"]["own"] for e in events(
        service.db, old))


def test_her_case_number_with_a_beating_gives_the_numbers_once(
        service: Service, clock: FrozenClock) -> None:
    """Walk T-8: her case number, then a new beating, on a Sunday: the violence text's
    24-hour numbers, and when staff answer without a second list of them; "masih" at "is
    anyone in danger now?" is now (it was "belum mengerti")."""
    family, old, _, _ = _back(service, clock)
    out = joined(family.say(f"sa pu nomor kasus {old}. paitua pukul sa lagi tadi"))
    assert out.count("110") == 1 and out.count("SAPA") == 1, out
    assert "Petugas akan membalas mulai 07-12-2026 08.00 WIT" in out
    assert "1. Lanjut chat" in out.splitlines()[-3]  # the question stays last
    family.say("2")
    assert "Keselamatan Anda yang utama" in joined(family.say("masih"))
    assert case_of(service.db, family.user).priority == "P0"


def test_a_serial_alone_is_understood_as_her_case(service: Service, clock: FrozenClock) -> None:
    """"no kasus 00001" names her own case as well."""
    family, old, sari, _ = _back(service, clock)
    family.say("halo kaka")
    assert NOTED in joined(family.say(f"no kasus {old[-5:]}"))
    assert old in joined(p["text"] for p in sari.unread())


def test_another_familys_case_number_reveals_nothing(
        service: Service, clock: FrozenClock) -> None:
    """Never 5: the number of someone else's case gets the very words her own would, and
    no staff member is told anything; the case is not named in the event."""
    _, old, sari, yohana = _back(service, clock)
    stranger = Person(service, "62877")
    stranger.say("halo")
    for written in (f"sa pu nomor kasus {old}", "no kasus 00001", "LK3-2026-00099"):
        out = joined(stranger.say(written))
        assert NOTED in out and "Sari" not in out and "ditutup" not in out, out
    assert sari.unread() == [] and yohana.unread() == []
    told = [e for e in events(service.db, old) if e["kind"] == "case_number_told"]
    assert told == []  # nothing written to her case either


@pytest.mark.parametrize("text", [
    "sa pu nomor kasus LK3-2026-00001", "LK3-2026-00001", "no kasus 00001",
    "halo kaka, ini sa pu no. kasus: 00001", "nomor kasus lk3 2026 1",
])
def test_case_numbers_are_read(text: str) -> None:
    """The ways families write a case number are read as one, and nothing else is left."""
    told = read(text)
    assert told is not None and told.number.endswith("00001") and told.rest == ""


@pytest.mark.parametrize("text", [
    "sa mau nomor bantuan", "sa pu nomor 0812345678", "anak 3 tahun", "kasus kdrt 2 kali",
    "sa pu nomor hp 081234", "no 3", "nomor 2 saja", "3", "2026", "sa pu anak umur 12",
])
def test_ordinary_messages_are_no_case_number(text: str) -> None:
    """A choice, a phone number, an age or a year is no case number."""
    assert read(text) is None


def test_darurat_after_a_closed_case_goes_on_to_the_welcome_back_on_the_new_case(
        service: Service, clock: FrozenClock) -> None:
    """Walk U-8: back four days after a closed case, a mother typed DARURAT, then "1"
    (safe now), and was told "Terima kasih. Jika butuh bantuan lagi, tulis pesan kapan
    saja" while a new P0 case waited; a first contact would be asked how to go on. She is
    welcomed back now. And staff read her DARURAT on the new case, not on the closed one."""
    family, old, _, _ = _back(service, clock)
    emergency = joined(family.say("DARURAT"))
    assert "Apakah Anda aman sekarang?" in emergency
    new = case_of(service.db, family.user)
    assert new.number != old and new.priority == "P0"
    welcome = joined(family.say("1"))
    assert "Jika butuh bantuan lagi" not in welcome
    assert BACK in welcome.lower() and "1. Lanjut chat" in welcome
    assert FIRST_CONTACT not in welcome
    on_new = [(e["kind"], (e["data"] or {}).get("command")) for e in events(service.db,
                                                                             new.number)]
    assert ("keyword", "emergency") in on_new and ("emergency", None) in on_new
    assert not [e for e in events(service.db, old) if e["kind"] in ("keyword", "emergency")]


def test_after_a_referral_ok_words_are_thanked_and_a_question_reaches_her_counselor(
        service: Service, clock: FrozenClock) -> None:
    """Walk U-11: Sari closed a case as referred. "sip" at the rating began the whole
    first-contact welcome, "makasih kaka 🙏" asked how to help; two days later "kaka sa mo
    tanya lagi, kapan sa ke uptd?" read "Mau melanjutkan dari pertanyaan terakhir atau
    mulai dari awal?", and Sari never heard it. Now the thanks are answered and nothing
    begins; the question goes to a person, as a case linked to the closed one (under the
    consent she gave for it), and Sari is told with the button to take it."""
    family, old = closed_case(service, rated=False, outcome="dirujuk")
    sari = Person(service, "c1")
    family.unread(), sari.unread()
    for text in ("sip", "makasih kaka 🙏"):
        out = joined(family.say(text))
        assert "Terima kasih" in out or "Sama-sama" in out, out
        assert FIRST_CONTACT not in out and "dibantu" not in out, out
    clock.advance(days=2)
    out = joined(family.say("kaka sa mo tanya lagi, kapan sa ke uptd?"))
    assert "Mau melanjutkan" not in out and "dibantu" not in out
    new = case_of(service.db, family.user)
    assert new.number != old and new.priority == "P2" and new.reasons == ["follow_up"]
    assert f"sudah ditutup, jadi pertanyaan Anda kami teruskan ke petugas LK3 sebagai kasus " \
        f"{new.number}" in out
    told = joined(p["text"] for p in sari.unread())
    assert f"Keluarga yang pernah Anda layani (kasus {old})" in told and new.number in told
    taken = joined(sari.say(f"/ambil {new.number}"))
    assert "kapan sa ke uptd?" in taken  # her words, on the case she is given
    with service.db.connect() as conn:
        assert cases.triage_of(conn, new.id).legal_basis == "consent"


def test_a_question_long_after_a_close_is_a_new_request(
        service: Service, clock: FrozenClock) -> None:
    """Weeks after the close, a question begins the welcome back (a new request), and
    never "continue from the last question" later: no intake is under way at the welcome."""
    family, old, _, _ = _back(service, clock)
    clock.advance(days=20)
    out = joined(family.say("kaka sa mo tanya, kapan sa bisa ke kantor?"))
    assert BACK in out.lower() and "sudah ditutup" not in out
    assert case_of(service.db, family.user).number == old  # no case for it yet
    clock.advance(days=2)
    out = joined(family.say("kaka sa mo tanya lagi"))
    assert "Mau melanjutkan" not in out


def test_a_rating_left_unanswered_lapses_when_she_writes_days_later(
        service: Service, clock: FrozenClock) -> None:
    """Walk V-9: the rating question left unanswered after a close; three days later a new
    beating, and her "2" (to the question after it) was stored as the satisfaction of the
    new case nobody had served. Days later her words are of something new: no rating."""
    from sqlalchemy import select

    from storage.models import Case

    family, _ = closed_case(service, rated=False)  # the rating question waits, unanswered
    clock.advance(days=3)
    family.say("selamat pagi, sa pu paitua pukul sa lagi semalam")
    family.say("2")
    with service.db.connect() as conn:
        rated = conn.execute(select(Case.number, Case.satisfaction)).all()
    assert len(rated) == 2 and all(s is None for _, s in rated), rated
    assert any(e["kind"] == "rating_lapsed" for e in events(
        service.db, case_of(service.db, family.user).number)), "staff see why"
