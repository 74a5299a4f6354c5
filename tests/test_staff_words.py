"""What counselors read in the chat: Indonesian words for stored codes, WIT times (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.casework import labels
from bot.casework.scheduler import Scheduler
from bot.service import Service
from storage import cases, conversations, counselors
from tests.support import FrozenClock
from tests.test_handoff import Person, add_staff
from tests.test_scheduler import claim, hire, open_case, texts


def _held(service: Service) -> tuple[Person, Person, str]:
    """A family through the intake (domestic violence, Mimika Baru, this chat, a message may
    be left, no safe times, no codeword) and Sari holding the case."""
    family = Person(service, "fam")
    number = family.intake()
    _, sari = add_staff(service, "Sari", "sari")
    sari.say("/siaga")
    sari.say(f"/ambil {number}")
    return family, sari, number


def test_history_shows_wit_times_and_the_choice_a_number_meant(
        service: Service, clock: FrozenClock) -> None:
    """/riwayat: 00:30 UTC reads 09.30 (WIT) on every database; `1` reads `1 (Ya)`."""
    _, sari, number = _held(service)
    history = sari.say("/riwayat")[0].splitlines()
    assert history[0] == f"Riwayat {number} (waktu WIT):"
    at = history.index("30-11 09.30 Keluarga: 1 (Lanjut lewat chat ini)")
    assert history[at:at + 7] == [
        "30-11 09.30 Keluarga: 1 (Lanjut lewat chat ini)",
        "30-11 09.30 Bot: Kapan waktu yang aman untuk menghubungi Anda? (contoh: pagi 08–11 "
        "WIT). Ketik LEWATI bila kapan saja.",
        "30-11 09.30 Keluarga: LEWATI",
        "30-11 09.30 Bot: Boleh kami meninggalkan pesan atau telepon tak terjawab?",
        "30-11 09.30 Keluarga: 1 (Ya)",
        "30-11 09.30 Bot: (Boleh dilewati) Buat kata sandi singkat agar Anda tahu itu petugas "
        "kami. Ketik LEWATI bila tidak perlu.",
        "30-11 09.30 Keluarga: LEWATI"]


def test_the_brief_at_a_claim_names_answers_in_words(service: Service) -> None:
    """/ambil: category, distrik and the family's contact answers as labels, not codes."""
    family = Person(service, "fam")
    number = family.intake()
    _, sari = add_staff(service, "Sari", "sari")
    sari.say("/siaga")
    assert sari.say(f"/ambil {number}")[0] == (
        f"Anda memegang kasus {number} (P1). Alasan: anak di bawah 18 tahun berisiko; "
        "kekerasan dalam rumah tangga.\n"
        "Kategori: KDRT · Distrik: Mimika Baru · Kontak: Lanjut lewat chat ini · "
        "Waktu aman: (dilewati) · Boleh tinggalkan pesan: Ya · Kata sandi: (dilewati)\n"
        "Pesan biasa Anda sekarang dikirim ke keluarga ini.")


def test_the_queue_says_how_long_in_words(service: Service, clock: FrozenClock) -> None:
    """/antrian: `menunggu 12 menit`, and an hour and a half as `1 jam 30 menit`."""
    number = Person(service, "fam").intake()
    _, sari = add_staff(service, "Sari", "sari")
    clock.advance(minutes=12)
    lines = sari.say("/antrian")[0].splitlines()
    assert lines == ["Antrean (1 menunggu):", f"{number} · P1 · menunggu 12 menit · anak di "
                     "bawah 18 tahun berisiko; kekerasan dalam rumah tangga", f"1. Ambil {number}"]
    clock.advance(minutes=78)
    assert sari.say("/antrian")[0].splitlines()[1].startswith(
        f"{number} · P1 · menunggu 1 jam 30 menit · ")


def test_outcome_and_status_in_words(service: Service) -> None:
    """/selesai tidak_bisa_dihubungi reads `tidak bisa dihubungi`; /kasus of a waiting case
    says `menunggu`."""
    waiting = Person(service, "other").intake()
    _, sari, number = _held(service)
    assert sari.say(f"/kasus {waiting}") == [
        f"Kasus {waiting} berstatus menunggu, bukan kasus yang sedang dipegang. Untuk kasus "
        f"menunggu, ketik /ambil {waiting}."]
    sari.say("Halo ibu, saya Sari dari LK3.")  # a P1: closed once someone has written
    assert sari.say("/selesai tidak_bisa_dihubungi")[0] == (
        f"Kasus {number} ditutup dengan hasil tidak bisa dihubungi.")


def test_an_urgent_case_nobody_wrote_to_is_not_closed_by_its_counselor(
        service: Service) -> None:
    """Never 2 and 10: a P1 case taken and closed "tidak bisa dihubungi" in the same minute,
    with no word to the family (a walk-through did it with a P0), is refused in words; a
    supervisor may close it."""
    _, sari, number = _held(service)
    assert sari.say("/selesai tidak_bisa_dihubungi") == [
        f"Kasus {number} (P1) belum pernah dibalas petugas. Tulis dulu ke keluarga; bila "
        "mereka memang tidak bisa dihubungi, minta supervisor menutupnya."]
    _, yohana = add_staff(service, "Yohana", "yohana", role="supervisor")
    assert yohana.say(f"/kasus {number} absen") == [
        f"Kasus aktif sekarang {number}."]
    assert yohana.say("/selesai tidak_bisa_dihubungi")[0] == (
        f"Kasus {number} ditutup dengan hasil tidak bisa dihubungi.")


def test_a_p0_page_says_how_long_and_where_in_words(db: Engine, clock: FrozenClock) -> None:
    """The scheduler's P0 page: `(5 menit)`, the reason and `Mimika Baru`, not codes."""
    with db.begin() as conn:
        ani = counselors.add(conn, name="Ani", role="counselor", now=clock(),
                             accounts=[("test", "ani")])
        counselors.set_duty(conn, ani, True)
        contact = conversations.touch_contact(conn, "test", "fam", clock())
        _, number = cases.create(conn, contact_id=contact.id, channel="test", now=clock(), data={
            "priority": "P0", "reasons": ["weapon_or_threat"], "distrik": "mimika_baru",
            "legal_basis": "consent", "status": "waiting"})
    clock.advance(minutes=5)
    assert Scheduler(db, clock).run_once() == 1
    assert texts(db, "ani") == [
        f"DARURAT {number} belum diambil (5 menit). ancaman membunuh atau senjata · "
        "Mimika Baru"]


def test_a_claimed_case_flag_says_how_long_in_words(db: Engine, clock: FrozenClock) -> None:
    """No message to the family for an hour: `belum ada pesan ke keluarga 1 jam sejak
    diambil`."""
    ani = hire(db, clock, "ani")
    hire(db, clock, "budi", role="supervisor", duty=False)
    case_id = open_case(db, clock, "P1")
    claim(db, clock, ani, case_id)
    clock.advance(hours=1)
    assert Scheduler(db, clock).run_once() == 1
    (text,) = texts(db, "budi")
    assert text.endswith("dipegang ani tetapi belum ada pesan ke keluarga 1 jam sejak diambil.")


def test_a_deadline_a_minute_short_of_three_days_never_reads_two_days() -> None:
    """From two days on, the hours are said too: a privacy request due in 71 h 59 min reads
    `2 hari 23 jam`, not `2 hari` (the supervisors' alert said `3 hari` a minute earlier)."""
    assert labels.duration(timedelta(hours=72) - timedelta(minutes=1)) == "2 hari 23 jam"
    assert labels.duration(timedelta(hours=72)) == "3 hari"
    assert labels.duration(timedelta(hours=47, minutes=5)) == "47 jam 5 menit"
    assert labels.duration(timedelta(hours=49), "en") == "2 days 1 h"


def test_the_referral_list_is_in_indonesian(service: Service) -> None:
    """/rujuk lists the places and what each is for in Indonesian: none of the English the
    list was first written in."""
    _, sari, _ = _held(service)
    (listing,) = sari.say("/rujuk")
    assert "Bantuan hukum (LBH / Posbakum)" in listing
    assert "kekerasan terhadap perempuan dan anak" in listing
    english = ("violence", "health", "children", "legal", "help", "nearest", "injuries",
               "emergency", "crisis", "social", "Psychologist")
    assert [w for w in english if w.lower() in listing.lower()] == [], listing


def test_a_photo_or_voice_note_reads_in_words_in_the_relay_and_the_history(
        service: Service) -> None:
    """What a family sent besides words is named in Indonesian: `(foto)`, `(pesan suara)`,
    in the message the counselor gets and in /riwayat (where it showed as nothing)."""
    family, sari, number = _held(service)
    sari.unread()
    family.say_raw(payload={"text": "ini fotonya", "media": [
        {"kind": "photo", "ref": "AgAC-1", "mime": "image/jpeg"}]})
    family.say_raw(payload={"text": "", "media": [
        {"kind": "voice", "ref": "AwAC-2", "mime": "audio/ogg"}]})
    assert [m["text"] for m in sari.unread()] == [
        f"[{number}] ini fotonya\n[{number}] (foto) AgAC-1", f"[{number}] (pesan suara) AwAC-2"]
    history = sari.say("/riwayat")[0].splitlines()
    assert history[-2].endswith("Keluarga: ini fotonya (foto)"), history[-2]
    assert history[-1].endswith("Keluarga: (pesan suara)"), history[-1]


def test_event_details_are_in_words_and_wit() -> None:
    """`cases show` and the console's event lines: a walk-through's supervisor read UTC
    stamps ("2026-12-09T21:31:41+00:00"), English keys and values ("hak: erase", "again",
    "none"), ids ("diberi tahu: [1, 2]") and the lists' tokens ("@perp @hit")."""
    from bot.cli.caseshow import summary

    line = summary({"right": "erase", "request": 1, "due_at": "2026-12-09T21:31:41.003543+00:00",
                    "told": [1, 2], "again": True}, limit=400)
    assert line == ("hak: HAPUS (hapus data), permintaan: 1, jatuh tempo: 2026-12-10 06:31 WIT, "
                    "diberi tahu: 2 petugas, lagi: ya"), line
    assert summary({"legal_basis": "none"}) == "dasar hukum: tidak ada (persetujuan ditarik)"
    words = summary({"matched": ["@perp @hit", "@hit @me", "berdarah"]})
    assert "@" not in words and "3 frasa" in words, words
    assert summary({"counts": {"inbox": 2, "messages": 9}}) == "yang dihapus: 11 baris"
    assert summary({"erased": True}) == "isinya dihapus: ya"
    assert summary({"text": "sa tanya 2026-12-09 pagi"}) == "teks: sa tanya 2026-12-09 pagi"


def test_a_childs_answer_to_a_question_asked_in_kamu_reads_in_words() -> None:
    """The history knows the questions asked of a child writing (`<prompt>.young`): the
    child's "1" after "apakah kamu pernah berharap kamu sudah mati?" reads `1 (Ya)`, as an
    adult's does after the "Anda" form."""
    from bot.casework.intakeview import annotate
    from tests.support import flows

    texts = flows().bundle.catalog.texts["id"]
    for key in ("asq.wish", "asq.wish.young", "risk.child_now.young"):
        assert annotate([("out", texts[key]), ("in", "1")])[-1] == "1 (Ya)", key


def test_a_number_after_the_emergency_question_asked_again_reads_as_its_answer() -> None:
    """Each form of the emergency message (per danger, of a child, of someone else, asked
    again) is a question: the "1" after it reads "Sudah aman sekarang", not the choice of the
    question before it (a walk-through: the transcript read "1 (Lanjut chat)" where the
    answers said "safe now")."""
    from bot.casework.intakeview import annotate
    from tests.support import flows

    bundle = flows().bundle
    texts, params = bundle.catalog.texts["id"], {"crisis_contacts": "• Polisi: 110"}
    safe = bundle.catalog.text("emergency.safe", "id")
    greeting = texts["greeting.again"] + "\n1. " + bundle.catalog.text("greeting.chat", "id")
    for key in ("emergency.violence.again", "emergency.violence.child",
                "emergency.violence.other", "emergency.selfharm"):
        asked = texts[key].replace("{crisis_contacts}", params["crisis_contacts"])
        said = annotate([("out", greeting), ("out", asked), ("in", "1")])[-1]
        assert said == f"1 ({safe})", (key, said)


def test_every_command_a_family_can_use_reads_in_words() -> None:
    """The case history's "kata kunci" events name the command in words ("perintah: tanya
    kerahasiaan"), never its code ("ask_secret"), in both staff languages."""
    import yaml

    from flows.commands import ENGINE_COMMANDS
    from flows.loader import FLOWS_DIR

    keywords = yaml.safe_load((FLOWS_DIR / "keywords.yaml").read_text(encoding="utf-8"))
    for lang in ("id", "en"):
        unnamed = [c for c in {*ENGINE_COMMANDS, *keywords}
                   if labels.word("command", c, lang) == c]
        assert not unnamed, (lang, sorted(unnamed))


def test_a_deadline_answered_late_reads_as_one_thing() -> None:
    """"terpenuhi, terlambat 1 menit" read as both met and late (a walk-through): an answer
    after the deadline says when it came."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from bot.casework import casetiming

    hours = casetiming.service()
    created = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # a Monday, 10:00 WIT
    deadline = hours.deadline("P0", created)
    row = SimpleNamespace(created_at=created, claimed_at=created, status="claimed",
                          priority="P0", first_response_at=deadline + timedelta(minutes=1))
    t = casetiming.timing(row, hours, deadline + timedelta(hours=1))
    assert t.label == "dijawab 1 menit setelah tenggat"
    assert casetiming.waited(t) == "-"


def test_a_question_asked_of_someone_else_reads_as_it_was_asked() -> None:
    """A neighbour answered "Ya" to "Apakah orang yang Anda ceritakan punya tempat aman?";
    staff had read it under "Apakah Anda punya tempat aman?" (the note's open item). Asked of
    the writer, it stays as it was."""
    from bot.casework.intakeview import answers
    told = dict(answers({"who": "other", "safe_place": "yes"}, set()))
    assert told["Apakah orang yang Anda ceritakan punya tempat aman untuk malam ini?"] == "Ya"
    own = dict(answers({"who": "self", "safe_place": "yes"}, set()))
    assert own["Apakah Anda punya tempat aman untuk malam ini?"] == "Ya"
