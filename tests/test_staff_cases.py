"""`lk3 cases list` and `lk3 cases show` as supervisors read them (issue 15): open cases a page
at a time, Indonesian words and WIT times, every answer with its question, what a number
meant, and the danger words; JSON keeps the codes."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.cli.casecli import list_cases, show_case
from bot.service import Service
from storage import cases, conversations, counselors, queue
from tests.support import FrozenClock
from tests.test_handoff import Person

Cells = list[list[str]]


def _open(db: Engine, clock: FrozenClock) -> dict[str, str]:
    """Four open cases and two closed ones, opened before the frozen now (09:30 WIT)."""
    now = clock()
    plan = [  # user, priority, minutes ago, category, distrik, reason
        ("a", "P1", 30, "dv", "mimika_baru", "domestic_violence"),
        ("b", "P0", 3, "dv", "kwamki_narama", "weapon_or_threat"),
        ("c", "P3", 120, "premarital", "unknown", "premarital"),
        ("d", "P2", 10, "economy", None, "economic_crisis"),
        ("e", "P1", 300, "couple", "wania", "couple_conflict"),
        ("f", "P2", 200, "teen", "iwaka", "teen_trouble")]
    numbers = {}
    with db.begin() as conn:
        maria = counselors.add(conn, name="Maria", role="counselor", now=now)
        for user, priority, ago, category, distrik, reason in plan:
            contact = conversations.touch_contact(conn, "test", user, now)
            case_id, numbers[user] = cases.create(
                conn, contact_id=contact.id, channel="test", now=now - timedelta(minutes=ago),
                data={"priority": priority, "reasons": [reason], "category": category,
                      "distrik": distrik, "legal_basis": "consent", "status": "waiting"})
            if user in "cef":
                queue.claim(conn, maria, now - timedelta(minutes=60), numbers[user])
                queue.first_response(conn, case_id, now - timedelta(minutes=50))
            if user in "ef":
                queue.close(conn, case_id, "selesai", now - timedelta(minutes=ago // 10))
    return numbers


def _cells(out: str) -> Cells:
    return [re.split(r"\s{2,}", line) for line in out.strip().splitlines()]


def test_the_list_shows_open_cases_a_page_at_a_time_in_words(
        db: Engine, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """Default: open cases only, most urgent first, at most `limit`, then how many more."""
    n = _open(db, clock)
    assert list_cases(db, None, False, limit=3, now=clock()) == 0
    *table, more = capsys.readouterr().out.strip().splitlines()
    assert _cells("\n".join(table)) == [
        ["NOMOR", "STATUS", "PRI", "KATEGORI", "DISTRIK", "DIBUAT (WIT)", "PETUGAS", "MENUNGGU",
         "TENGGAT", "ALASAN"],
        [n["b"], "menunggu", "P0", "KDRT", "Kwamki Narama", "2026-11-30 09:27", "-", "3 menit",
         "jatuh tempo dalam 2 menit", "ancaman membunuh atau senjata"],
        [n["a"], "menunggu", "P1", "KDRT", "Mimika Baru", "2026-11-30 09:00", "-", "30 menit",
         "jatuh tempo dalam 30 menit", "kekerasan dalam rumah tangga"],
        [n["d"], "menunggu", "P2", "Ekonomi keluarga", "-", "2026-11-30 09:20", "-", "10 menit",
         "jatuh tempo dalam 23 jam 50 menit", "krisis ekonomi keluarga"]]
    assert more == ("Ditampilkan 3 dari 4; 1 lagi tidak ditampilkan (--limit N untuk lebih "
                    "banyak, --limit 0 untuk semua).")
    assert list_cases(db, None, False, limit=0, now=clock()) == 0
    rows = _cells(capsys.readouterr().out)[1:]
    assert [r[0] for r in rows] == [n["b"], n["a"], n["d"], n["c"]]  # no footer: all shown
    assert rows[-1] == [n["c"], "dipegang", "P3", "Pranikah / konsultasi umum",
                        "Tidak tahu / tidak mau menjawab", "2026-11-30 07:30", "Maria",
                        "-", "terpenuhi", "persiapan menikah atau konsultasi keluarga umum"]
    # answered: no one waits any more (a walk-through read "15 menit" as the family waiting)


def test_all_adds_closed_cases_most_recently_closed_first(
        db: Engine, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """`--all`: the open cases, then the closed ones; `--status closed` only those."""
    n = _open(db, clock)
    assert list_cases(db, None, False, show_all=True, now=clock()) == 0
    rows = _cells(capsys.readouterr().out)[1:]
    assert [r[0] for r in rows] == [n["b"], n["a"], n["d"], n["c"], n["f"], n["e"]]
    assert rows[-1] == [n["e"], "ditutup", "P1", "Pasangan / suami-istri", "Wania",
                        "2026-11-30 04:30", "Maria", "-", "-", "konflik pasangan"]
    assert list_cases(db, "closed", False, limit=1, now=clock()) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [r[0] for r in _cells("\n".join(out[:-1]))[1:]] == [n["f"]]
    assert out[-1].startswith("Ditampilkan 1 dari 2; 1 lagi")


def test_json_keeps_the_codes_and_pages_too(
        db: Engine, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` lists codes (`dv`, `kwamki_narama`, `weapon_or_threat`); more on stderr."""
    n = _open(db, clock)
    assert list_cases(db, None, True, limit=1, now=clock()) == 0
    got = capsys.readouterr()
    (case,) = json.loads(got.out)
    assert {k: case[k] for k in ("number", "status", "category", "distrik", "reasons",
                                 "deadline_state")} == {
        "number": n["b"], "status": "waiting", "category": "dv", "distrik": "kwamki_narama",
        "reasons": ["weapon_or_threat"], "deadline_state": "ok"}
    assert got.err.startswith("Ditampilkan 1 dari 4; 3 lagi")


def _shown(service: Service, number: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert show_case(service.db, number, now=service.clock()) == 0
    return capsys.readouterr().out


def _section(out: str, title: str) -> list[str]:
    """The lines under a section's title, up to the blank line that ends it."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(at + 1, len(lines)) if not lines[i]), len(lines))
    return lines[at:end]


def test_show_lists_every_answer_under_its_question(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """`cases show`: the details in words and each answer with the question it answered."""
    number = Person(service, "fam").intake()
    out = _shown(service, number, capsys)
    assert out.splitlines()[:5] == [
        f"Kasus:           {number}", "Status:          menunggu", "Prioritas:       P1",
        "Alasan:          anak di bawah 18 tahun berisiko; kekerasan dalam rumah tangga",
        "Kategori:        KDRT"]
    assert "Distrik:         Mimika Baru" in out.splitlines()
    assert "Dasar hukum:     persetujuan keluarga" in out.splitlines()
    assert "Bahasa:          Indonesia" in out.splitlines()  # the family's, in words
    assert _section(out, "Jawaban keluarga") == [
        "Jawaban keluarga (20)",
        "  Pilih cara bicara: → Lanjut chat",
        "  Sebelum lanjut: apakah Anda atau orang lain (misalnya anak) sedang dalam bahaya "
        "atau terluka sekarang? → Tidak",
        "  Apakah Anda setuju? → Setuju, dan boleh dirujuk ke lembaga lain bila perlu (kami "
        "tetap tanya dulu)",
        "  Berapa usia Anda? → 18 tahun atau lebih",
        "  Masalah apa yang ingin Anda konsultasikan? → Kekerasan dalam rumah tangga (juga "
        "pada anak, anak ditelantarkan)",
        "  Siapa yang paling membutuhkan bantuan? → Saya sendiri",
        "  Di distrik mana orang yang butuh bantuan tinggal sekarang? → Mimika Baru",
        "  Nama kampung atau kelurahan? → (dilewati)",
        "  Apakah ada yang terluka dan butuh pertolongan medis? → Tidak",
        "  Apakah orang yang menyakiti ada di dekat Anda sekarang? → Tidak",
        "  Apakah dia pernah mengancam membunuh atau memakai senjata (parang, pisau, panah)? "
        "→ Tidak",
        "  Apakah kekerasan makin sering atau makin parah akhir-akhir ini? → Tidak",
        "  Apakah ada anak yang ikut terancam atau disakiti? → Ya",
        "  Apakah Anda punya tempat aman untuk malam ini? → Ya",
        "  Apakah aman bagi Anda untuk terus chat sekarang? → Ya, aman",
        "  Bagaimana petugas sebaiknya menghubungi Anda? → Lanjut lewat chat ini",
        "  Kapan waktu yang aman untuk menghubungi Anda? → (dilewati)",
        "  Boleh kami meninggalkan pesan atau telepon tak terjawab? → Ya",
        "  Buat kata sandi singkat agar Anda tahu itu petugas kami. → (dilewati)",
        "  Jika mau, ceritakan singkat apa yang terjadi (boleh pesan suara). Tidak perlu "
        "menulis nama orang. → (dilewati)"]


def test_show_says_what_a_number_meant_in_wit(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """The transcript: `Keluarga: 3 (Tidak)` at 09:30 WIT for a message stored at 00:30 UTC."""
    number = Person(service, "fam").intake()
    family = [line for line in _section(_shown(service, number, capsys), "Percakapan")
              if "  Keluarga: " in line]
    assert family[:8] == [
        "  2026-11-30 09:30  Keluarga: halo",
        "  2026-11-30 09:30  Keluarga: 1 (Lanjut chat)",
        "  2026-11-30 09:30  Keluarga: 3 (Tidak)",
        "  2026-11-30 09:30  Keluarga: 2 (Setuju, dan boleh dirujuk ke lembaga lain bila perlu "
        "(kami tetap tanya dulu))",
        "  2026-11-30 09:30  Keluarga: 2 (18 tahun atau lebih)",
        "  2026-11-30 09:30  Keluarga: 2 (Kekerasan dalam rumah tangga (juga pada anak, anak "
        "ditelantarkan))",
        "  2026-11-30 09:30  Keluarga: 1 (Saya sendiri)",
        "  2026-11-30 09:30  Keluarga: 1 (Mimika Baru)"]
    assert family[8] == "  2026-11-30 09:30  Keluarga: LEWATI"


def test_show_lists_the_danger_words_and_a_salah_ketik(
        service: Service, clock: FrozenClock, capsys: pytest.CaptureFixture[str]) -> None:
    """Danger words (written before consent, too) with the family's message, in Indonesian,
    and a SALAH KETIK typed right after danger words (right after a choice it would take
    the choice back instead)."""
    family = Person(service, "fam")
    family.say("sa pu paitua pukul sa")  # the first message, before any consent
    clock.advance(minutes=1)
    for answer in ["1", "3", "1", "2", "2", "1", "1"]:
        family.say(answer)
    clock.advance(minutes=1)
    family.say("de pukul sa lagi")
    clock.advance(minutes=1)
    family.say("SALAH KETIK")
    number = case_number(service)
    assert _section(_shown(service, number, capsys), "Kata bahaya") == [
        "Kata bahaya (3)",
        '  2026-11-30 09:30  kekerasan; pesan keluarga: "sa pu paitua pukul sa"',
        '  2026-11-30 09:32  kekerasan; pesan keluarga: "de pukul sa lagi"',
        "  2026-11-30 09:33  Keluarga mengetik SALAH KETIK (kekerasan); kata-kata itu tetap "
        "dihitung."]


def test_show_says_what_a_number_meant_after_a_story_was_offered(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """After a story, the category question offers what it said ("Dari cerita Anda tadi..."):
    a number typed there is still shown with what it meant."""
    family = Person(service, "fam")
    for answer in ["sa pu paitua pukul sa", "1", "3", "1", "2", "4"]:
        family.say(answer)
    number = case_number(service)
    said = [line for line in _section(_shown(service, number, capsys), "Percakapan")
            if "  Keluarga: " in line]
    assert said[-1] == ("  2026-11-30 09:30  Keluarga: 4 (Kekerasan atau pelecehan seksual "
                        "(termasuk pada anak))")


def test_show_says_what_a_number_meant_after_an_offer(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """"Maksud Anda: ...? Balas IYA" keeps the category question standing: a number typed
    after it is shown with what it meant there."""
    family = Person(service, "fam")
    for answer in ["halo", "1", "3", "1", "2", "anak sa tra mo sekolah", "5", "PETUGAS"]:
        family.say(answer)  # PETUGAS: the case opens now
    number = case_number(service)
    said = [line for line in _section(_shown(service, number, capsys), "Percakapan")
            if "  Keluarga: " in line]
    assert said[-2] == "  2026-11-30 09:30  Keluarga: 5 (Remaja: pergaulan, miras/narkoba, lem)"


def test_show_says_what_a_number_meant_after_a_place_from_the_story(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """The distrik question with "Dari cerita Anda tadi: Kuala Kencana? Balas IYA" under it is
    still the distrik question: "2" is shown as Wania."""
    family = Person(service, "fam")
    for answer in ["sa pendeta di kuala kencana, sa mo bantu ibu jemaat yang ditinggal suami",
                   "1", "3", "1", "2", "6", "5", "2", "PETUGAS"]:
        family.say(answer)
    number = case_number(service)
    said = [line for line in _section(_shown(service, number, capsys), "Percakapan")
            if "  Keluarga: " in line]
    assert said[-2] == "  2026-11-30 09:30  Keluarga: 2 (Wania)"


def case_number(service: Service) -> str:
    with service.db.connect() as conn:
        (case,) = cases.list_cases(conn)
    return case.number


def test_berhenti_and_ulang_leave_an_open_cases_answers_with_the_case(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """A walk-through's BERHENTI emptied the case view of the safe times, "may we leave a
    message" (no) and the codeword: a counselor could have left a voicemail the person who
    hurts them hears. The case keeps them; answers given after ULANG replace them one by
    one; a counselor taking the case reads them too."""
    from tests.test_handoff import AGREE, INTAKE, add_staff, case_of

    family = Person(service, "fam")
    script = list(INTAKE)
    script[3], script[17], script[18], script[19] = AGREE, "sore jam 4-6", "2", "mawar"
    for text in script:
        family.say(text)
    number = case_of(service.db, "fam").number
    family.say("BERHENTI")
    out = _shown(service, number, capsys)
    shown = _section(out, "Jawaban keluarga")
    for line in ("  Kapan waktu yang aman untuk menghubungi Anda? → sore jam 4-6",
                 "  Boleh kami meninggalkan pesan atau telepon tak terjawab? → Tidak",
                 "  Buat kata sandi singkat agar Anda tahu itu petugas kami. → mawar"):
        assert line in shown, shown
    family.say("ULANG")
    for text in ["1", "3", AGREE, "1"]:  # chat, no danger now, consent, "under 18" now
        family.say(text)
    shown = _section(_shown(service, number, capsys), "Jawaban keluarga")
    assert "  Berapa usia Anda? → Di bawah 18 tahun" in shown, shown
    assert "  Kapan waktu yang aman untuk menghubungi Anda? → sore jam 4-6" in shown
    _, sari = add_staff(service, "Sari", "c1")
    told = "\n".join(sari.say(f"/ambil {number}"))
    assert "Waktu aman: sore jam 4-6" in told and "Boleh tinggalkan pesan: Tidak" in told
    assert "Kata sandi: mawar" in told
