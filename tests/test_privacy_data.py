"""DATA and UBAH fulfilled: the family's copy (their answers and the processing history, no
internal notes, no one else's data) reviewed, then sent in the chat in order; a correction
applied with old and new values audited, and the family told."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.casework import labels
from bot.cli import caseshow
from bot.cli.cliparser import parser
from bot.privacy import correct, export
from bot.privacy.cli import family_texts
from bot.service import Service
from storage import privacy as store
from storage.models import Case, CaseEvent
from storage.rows import EventRow, write_rows
from tests.support import FrozenClock, deliver
from tests.test_handoff import Person, case_of
from tests.test_scheduler import hire

NOTE = "Catatan internal: suami terlihat di pasar kemarin"


def _request(service: Service, kind: str) -> store.Request:
    with service.db.connect() as conn:
        (req,) = [r for r in store.listing(conn, ("open", "done")) if r.kind == kind]
    return req


def test_data_copy_has_answers_and_history_without_notes_or_others_and_arrives_in_order(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """The copy holds the family's answers under their questions and what was done with
    their data; not the counselor's note nor another family's words. Reviewed first (a
    JSON copy, mode 600), then sent in the chat, every part in order; the request closes."""
    hire(service.db, clock, "sup", role="supervisor", duty=False)
    other = Person(service, "other")
    other.say("halo")
    other.say("Tetangga saya bernama Yakobus")
    family = Person(service, "fam")
    number = family.intake()
    family.say("DATA")  # while a counselor holds the case, DATA goes to the counselor
    family.unread()
    sup = Person(service, "sup")
    sup.say(f"/ambil {number}")
    sup.say(f"/catatan {NOTE}")
    family.unread()  # "a person serves you now"
    req = _request(service, "data")
    folder = tmp_path / "exports"

    early = export.export(service.db, req.id, folder, family_texts(), clock(), True, "cli:t")
    assert early.code == 1 and "jalankan dulu" in early.lines[0]  # review comes first
    shown = export.export(service.db, req.id, folder, family_texts(), clock(), False, "cli:t")
    assert shown.code == 0
    (kept,) = folder.iterdir()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    copy = json.loads(kept.read_text())
    questions = [a["question"] for a in copy["answers"]]
    assert any("Distrik" in q or "distrik" in q for q in questions), questions
    assert [c["number"] for c in copy["cases"]] == [number]
    assert {"case_opened", "claim", "consent"} <= {e["kind"] for e in copy["history"]}
    assert "note" not in {e["kind"] for e in copy["history"]}
    flat = json.dumps(copy, ensure_ascii=False)
    assert NOTE not in flat and "Yakobus" not in flat and "halo" in flat

    sent = export.export(service.db, req.id, folder, family_texts(), clock(), True, "cli:t")
    assert sent.code == 0, sent.lines
    deliver(service)
    got = "\n".join(p["text"] for p in family.unread())
    assert got == export.text(copy, family_texts())
    assert got.startswith("Salinan data Anda di LK3") and NOTE not in got
    assert _request(service, "data").status == "done"


def test_ubah_applies_the_correction_audits_old_and_new_and_tells_the_family(
        service: Service, clock: FrozenClock) -> None:
    """`privacy correct --field distrik --value V`: the case and the conversation say V,
    the audit row holds old and new, the family hears the corrected answer in words."""
    family = Person(service, "fam")
    family.intake()
    family.say("UBAH")
    family.unread()
    req = _request(service, "correct")
    bad = correct.correct(service.db, req.id, "distrik", "atlantis", "cli:t", clock(),
                          family_texts())
    assert bad.code == 2 and "tidak ada dalam pilihan" in bad.lines[0]
    assert "kwamki_narama (Kwamki Narama)" in bad.lines[0]  # each code with its words
    unknown = correct.correct(service.db, req.id, "nama", "Maria", "cli:t", clock(),
                              family_texts())
    assert unknown.code == 2 and "distrik (Di distrik mana orang yang butuh bantuan " \
        "tinggal sekarang?)" in unknown.lines[0], unknown.lines
    with service.db.connect() as conn:
        old = conn.execute(select(Case.distrik)).scalar_one()
    new = "wania" if old != "wania" else "kuala_kencana"
    done = correct.correct(service.db, req.id, "distrik", new, "cli:t", clock(),
                           family_texts())
    assert done.code == 0, done.lines
    with service.db.connect() as conn:
        assert conn.execute(select(Case.distrik)).scalar_one() == new
        (audit,) = conn.execute(select(CaseEvent.data).where(
            CaseEvent.kind == "privacy_corrected")).scalars().all()
    assert (audit["old"], audit["new"]) == (old, new)
    deliver(service)
    (told,) = [p["text"] for p in family.unread()]
    assert told.startswith("Data Anda sudah kami perbaiki") and "Wania" in told
    assert _request(service, "correct").status == "done"


def test_data_copy_says_a_case_no_one_has_taken_yet_is_waiting(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A walk-through's family read "sedang ditangani" for a case still in the queue."""
    family = Person(service, "fam")
    number = family.intake()
    family.say("DATA")
    shown = export.export(service.db, _request(service, "data").id, tmp_path, family_texts(),
                          clock(), False, "cli:t")
    (line,) = [x for x in shown.lines[-1].splitlines() if x.startswith(f"{number}:")]
    assert "menunggu petugas" in line and "sedang ditangani" not in line, line


def test_data_copy_says_in_the_familys_words_what_each_code_meant(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """The copy names the consent choice, the place referred to and the priority in words,
    each number the family typed with the option it chose (`3 (Tidak)`) and each skip word
    as skipped; no choice, institution, priority or event code, nor the staff's reason."""
    hire(service.db, clock, "sari")
    family = Person(service, "fam")
    number = family.intake()  # 1 chat, 3 not in danger, 2 consent with referral, ... LEWATI
    family.say("DATA")
    sari = Person(service, "sari")
    sari.say(f"/ambil {number}")
    sari.say("/rujuk lbh sidang minggu depan")  # referrals.yaml names it in English
    case = case_of(service.db, "fam")
    with service.db.begin() as conn:  # a kind of event with no words for the family
        write_rows(conn, [EventRow(case.id, case.contact_id, "counselor:1", "console_forbidden",
                                   {}, clock())])
    req = _request(service, "data")
    shown = export.export(service.db, req.id, tmp_path, family_texts(), clock(), False, "cli:t")
    assert shown.code == 0, shown.lines
    copy = shown.lines[-1]
    said = [line.split(": ", 1)[1] for line in copy.splitlines()
            if re.match(r"• \d{1,2} \w+ \d{4}, \d\d\.\d\d: ", line)]
    assert said[:4] == ["halo", "1 (Lanjut chat)", "3 (Tidak)", "2 (Setuju, dan boleh dirujuk "
                        "ke lembaga lain bila perlu (kami tetap tanya dulu))"], said
    assert "LEWATI (dilewati)" in said and "DATA" in said
    assert ": Setuju, dan boleh dirujuk ke lembaga lain bila perlu (kami tetap tanya dulu) " \
        "(teks persetujuan versi consent-" in copy
    assert "dirujuk ke Bantuan hukum (LBH / Posbakum) (dasar hukum: persetujuan keluarga)" \
        in copy
    assert f"{number}: prioritas tinggi," in copy
    assert "catatan lain tentang kasus Anda (petugas)" in copy
    for code in ("agree", "lbh", "Legal aid", "P1", "sidang minggu depan"):
        assert code not in copy, code
    assert re.findall(r"\b[a-z0-9]+_[a-z0-9_]+\b", copy) == []  # agree_refer, case_opened


def test_every_referral_place_has_a_name_in_each_family_language() -> None:
    """A place added to flows/referrals.yaml needs its name for the family's copy too (else
    the copy falls back to that file's name, which may be English)."""
    texts = family_texts().texts
    missing = [(lang, code) for code in labels.institutions() for lang in texts
               if f"privacy.export.institution.{code}" not in texts[lang]]
    assert missing == []


def test_after_keluar_the_copy_is_not_sent_and_staff_close_it_as_handed_over(
        service: Service, clock: FrozenClock, tmp_path: Path) -> None:
    """A family that left with KELUAR is not written to: `--send` says why in words and
    what to do (give it in person, then `--handed-over`) and keeps the request open;
    `--handed-over` closes it sending nothing, and the next copy says so in words."""
    family = Person(service, "fam")
    family.intake()
    family.say("DATA")
    family.say("KELUAR")
    family.unread()
    req = _request(service, "data")
    assert export.export(service.db, req.id, tmp_path, family_texts(), clock(), False,
                         "cli:t").code == 0
    refused = export.export(service.db, req.id, tmp_path, family_texts(), clock(), True,
                            "cli:t")
    assert refused.code == 1
    told = "\n".join(refused.lines)
    assert "tidak dikirim: keluarga keluar dengan KELUAR" in told and "quick_exit" not in told
    assert f"lk3 privacy export {req.label} --handed-over" in told
    assert _request(service, "data").status == "open"
    both = export.export(service.db, req.id, tmp_path, family_texts(), clock(), True, "cli:t",
                         handed_over=True)
    assert both.code == 2 and _request(service, "data").status == "open"
    assert parser().parse_args(["privacy", "export", req.label, "--handed-over"]).handed_over
    done = export.export(service.db, req.id, tmp_path, family_texts(), clock(), False, "cli:t",
                         handed_over=True)
    assert done.code == 0 and "diserahkan langsung" in done.lines[0], done.lines
    assert _request(service, "data").status == "done"
    deliver(service)
    assert family.unread() == []  # nothing reached the phone someone else may hold
    again = export.export(service.db, req.id, tmp_path, family_texts(), clock(), False,
                          "cli:t", handed_over=True)
    assert again.code == 1 and "sudah selesai" in again.lines[0]

    family.say("DATA")  # written again: a new request, whose copy tells the handover
    with service.db.connect() as conn:
        (new,) = store.listing(conn, ("open",))
    later = export.export(service.db, new.id, tmp_path, family_texts(), clock(), False,
                          "cli:t")
    assert "salinan data diserahkan langsung kepada Anda (petugas)" in later.lines[-1]
    assert "handed_over" not in later.lines[-1]


def test_the_data_copy_reads_as_the_family_read_it(service: Service, clock: FrozenClock,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Walk V-11: the copy a subscribed family received showed the subscription question
    with a raw `"{topic}"`, their "1" sent after DATA as `1 (Iya, saya mau)`, and dates as
    `2026-11-30 09:54`. The question reads with the topic they chose, only a real answer is
    annotated, and dates are written for a family: `30 November 2026, 09.54 WIT`."""
    family = Person(service, "fam")
    number = family.intake()
    family.say("LANGGANAN")
    family.say("1")  # the first topic
    asked = family.say("1")  # yes: subscribed
    assert "{" not in " ".join(asked)
    family.say("DATA")
    family.say("1")  # after DATA: not an answer to the subscription question
    req = _request(service, "data")
    shown = export.export(service.db, req.id, tmp_path, family_texts(), clock(), False, "cli:t")
    assert shown.code == 0
    text = "\n".join(shown.lines)
    copy = text[text.index("Salinan data Anda"):]
    assert "{" not in copy and "}" not in copy, copy
    topic = family_texts().text("list.broadcast_topics.layanan", "id")
    (question,) = [line for line in copy.splitlines() if "terima pesan info" in line]
    assert f'"{topic}"' in question and question.endswith("→ Iya, saya mau"), question
    said = [line for line in copy.splitlines() if line.startswith("• ") and ": 1" in line]
    assert [line.split(": ", 1)[1] for line in said][-3:] == [
        f"1 ({topic})", "1 (Iya, saya mau)", "1"], said
    months = "Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|" \
        "November|Desember"
    assert re.search(rf"dibuat \d{{1,2}} ({months}) 20\d\d, \d\d\.\d\d WIT\.", copy), copy
    assert not re.search(r"\d{4}-\d\d-\d\d", copy), copy
    assert caseshow.show(service.db, number, clock()) == 0  # staff read the same question
    shown_to_staff = capsys.readouterr().out
    answers = shown_to_staff.split("Jawaban keluarga")[1].split("\nPercakapan (")[0]
    assert f'info "{topic}" dari LK3' in answers and "{topic}" not in shown_to_staff
    assert "1 (Iya, saya mau)" in shown_to_staff
    after_data = shown_to_staff.split("Keluarga: DATA\n")[1]
    assert after_data.split("Keluarga: ")[1].split("\n")[0] == "1"  # not "1 (Iya, saya mau)"
