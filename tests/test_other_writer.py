"""Someone else writing on the family's phone (flows/phrases.yaml `writers`). A walk-through's
girl of 16 told of sexual violence on her mother's phone: it went into her mother's case, she
was answered as an adult, and her mother's DATA copy would have held her words. Now she is
answered as a child, told that anyone holding the phone can read the chat, staff read
"penulis lain", and the owner's copy leaves her messages out. Recall is measured on what
such writers say, false alarms on ordinary messages that mention phones and children."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.casework import staff
from bot.cli.casecli import show_case
from bot.privacy import export
from bot.privacy.cli import family_texts
from bot.service import Service
from flows.actions import BY_OTHER, OTHER_AUTHOR, WRITER
from flows.engine import Engine
from flows.types import Inbound, Snapshot
from storage import privacy as store
from storage.models import MessageLog
from tests.support import FrozenClock
from tests.test_handoff import Person, add_staff

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 10:00 WIT

TEEN = ("halo kaka, ini sa anaknya, sa pake hp mama. sa umur 16. om pegang2 sa pu badan "
        "malam2, sa takut")
CHILD = [
    TEEN,
    "sa pake hp mama, sa mau cerita sesuatu",
    "maaf kaka sa pinjam hp bapa, sa mau tanya",
    "ini hp sa pu mama, sa mau lapor",
    "sy pake mama pu hp, jangan kasih tau mama e",
    "saya anak dari ibu yang punya hp ini",
    "ini bukan mama yang tulis, sa anaknya",
    "yang tulis ini anaknya, mama ada kerja",
    "this is her daughter, I am using my mom's phone",
    "sa lagi pegang hp bapa, bapa tidur",
]
OTHER = [
    "ini sa adiknya, kaka sa ada di rumah sakit",
    "sa pinjam hp tetangga, sa pu hp rusak",
    "sa bukan pemilik hp ini",
    "ini hp sa pu kaka, sa mau tanya soal bantuan",
    "sa pake hp teman, tolong jangan balas malam",
    "I'm her sister, she asked me to write",
    "I am borrowing a friend's phone",
]
ORDINARY = [
    "sa pu anak main hp terus, susah diatur",
    "hp mama rusak jadi sa pake nomor baru",
    "sa pu anak pake hp sa untuk sekolah online",
    "anak sa pinjam hp tetangga untuk telpon sa",
    "sa mama dari 3 anak",
    "ini nomor sa yang baru",
    "bapa pukul mama, sa anaknya takut skali",
    "de pu anaknya sakit",
    "paitua ambil sa pu hp dan baca semua chat",
    "mama sa pu hp hilang",
    "kaka sa pake hp sa kemarin",
    "sa pu suami cek hp sa tiap malam",
    "iya", "1", "halo", "sa mau konseling keluarga",
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load("intake")


def _at_rest(engine: Engine, text: str, answers: dict[str, object] | None = None):
    """One message from a phone whose owner, an adult, finished the intake (a case)."""
    snap = Snapshot(engine.flow.name, "closing", "id",
                    {"mode": "chat", "age": "adult", **(answers or {})}, (), 0,
                    engine.flow.version, "LK3-2026-00001", NOW - timedelta(hours=1))
    return engine.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")


def test_those_who_say_they_write_on_someone_elses_phone_are_heard(engine: Engine) -> None:
    """Each message saying "I am the owner's child / someone else" is noted, of its kind,
    and the writer told that anyone holding the phone can read the chat."""
    for texts, kind in ((CHILD, "child"), (OTHER, "other")):
        missed = [t for t in texts if _at_rest(engine, t).snapshot.answers.get(WRITER) != kind]
        assert not missed, (kind, missed)
    turn = _at_rest(engine, CHILD[1])
    assert [r.key for r in turn.replies][:1] == ["writer.child"]
    said = engine.bundle.catalog.render(turn.replies[0], "id", {}).text
    assert "bukan pemilik HP" in said and "hapus chat" in said
    assert [e.kind for e in turn.events].count("other_writer") == 1


def test_the_owner_writes_again_when_they_say_so_or_after_a_silence(engine: Engine) -> None:
    """"ini mama lagi" gives the phone back to its owner, with a word; so does six hours
    of silence, without one (the other writer was asked to say who they are next time)."""
    turn = _at_rest(engine, CHILD[1])
    back = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="ini mama lagi"),
                       NOW + timedelta(minutes=5), "id")
    assert WRITER not in back.snapshot.answers
    assert [r.key for r in back.replies][:1] == ["writer.owner"]
    for hours, still in ((5, True), (7, False)):
        later = engine.step(turn.snapshot, Inbound("test", "u1", "m3", text="halo"),
                            NOW + timedelta(hours=hours), "id")
        assert (WRITER in later.snapshot.answers) is still
        assert "writer.owner" not in [r.key for r in later.replies]
    alone = _at_rest(engine, "ini mama lagi")  # no one else had written: nothing to say
    assert [r.key for r in alone.replies][:1] != ["writer.owner"]
    assert [e.kind for e in alone.events].count("owner_writes") == 0


def test_someone_else_is_never_told_of_the_owners_case(engine: Engine) -> None:
    """Never 5: a husband writing on his wife's phone ("ini sa suaminya, dia lapor apa?",
    perhaps after she cleared the chat with KELUAR) hears no case number and nothing of
    her case; the owner, back, hears her case number again."""
    turn = _at_rest(engine, "ini sa suaminya. sa pu maitua lapor apa ke kam?")
    said = "\n".join(engine.bundle.catalog.render(r, "id", {"case_number": "LK3-2026-00001"})
                     .text for r in turn.replies)
    assert turn.snapshot.answers.get(WRITER) == "other" and "LK3-2026" not in said, said
    later = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="kasih tau sa"),
                        NOW + timedelta(minutes=2), "id")
    assert [r.key for r in later.replies] == ["closing.idle.other_writer"]
    when = engine.step(later.snapshot, Inbound("test", "u1", "m4", text="masih lama ka?"),
                       NOW + timedelta(minutes=2), "id")
    assert when.replies[0].key == "faq.when.other_writer"
    again = engine.step(later.snapshot, Inbound("test", "u1", "m5", text="ULANG"),
                        NOW + timedelta(minutes=2), "id")  # a new start is still his
    assert again.snapshot.answers.get(WRITER) == "other"
    back = engine.step(later.snapshot, Inbound("test", "u1", "m3", text="ini mama lagi"),
                       NOW + timedelta(minutes=3), "id")
    assert "closing.idle" in [r.key for r in back.replies]


def test_answers_someone_else_gives_are_known_as_theirs(engine: Engine) -> None:
    """A girl answers her mother's intake question on the mother's phone (a walk-through's
    mother's DATA copy held her daughter's answers): the answer is marked as someone else's
    (BY_OTHER), kept through ULANG, and becomes the owner's again when she answers it."""
    snap = Snapshot(engine.flow.name, "risk_child_now", "id",
                    {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult",
                     "category": "child"}, (), 0, engine.flow.version, "LK3-2026-00001",
                    NOW - timedelta(minutes=1))
    said = engine.step(snap, Inbound("test", "u1", "m1", text="ini sa anaknya, sa pake hp mama"),
                       NOW, "id")
    theirs = engine.step(said.snapshot, Inbound("test", "u1", "m2", text="2"),
                         NOW + timedelta(minutes=1), "id")
    assert theirs.snapshot.answers.get("child_now") == "no"
    assert theirs.snapshot.answers.get(BY_OTHER) == ["child_now"]
    back = engine.step(theirs.snapshot, Inbound("test", "u1", "m3", text="ini mama lagi"),
                       NOW + timedelta(minutes=2), "id")
    assert back.snapshot.answers.get(BY_OTHER) == ["child_now"]  # still hers
    # the mother, back mid-intake, hears that the questions so far were her daughter's, and
    # how to tell of herself (a re-check: she went on answering her daughter's intake)
    keys = [r.key for r in back.replies]
    assert keys[0] == "writer.owner.mid_intake" and len(keys) > 1, keys
    said = engine.bundle.catalog.texts["id"]["writer.owner.mid_intake"]
    assert "dijawab oleh orang lain" in said and "ULANG" in said
    mine = engine.step(replace(back.snapshot, state="risk_child_now"),
                       Inbound("test", "u1", "m4", text="1"), NOW + timedelta(minutes=3), "id")
    assert BY_OTHER not in mine.snapshot.answers  # the owner answered it herself


def test_someone_else_asking_for_the_owners_data_is_promised_nothing(engine: Engine) -> None:
    """DATA from a husband on his wife's phone (a walk-through: "Petugas akan mengirimkannya
    paling lambat 3x24 jam"): noted for staff as asked by someone else, no copy promised."""
    turn = _at_rest(engine, "ini sa suaminya")
    data = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="DATA"),
                       NOW + timedelta(minutes=1), "id")
    assert [r.key for r in data.replies] == ["privacy.data.other_writer"]
    assert [e.data for e in data.events if e.kind == "privacy_request"] == [
        {"right": "data", "other_writer": True}]
    said = engine.bundle.catalog.render(data.replies[0], "id", {}).text
    assert "hanya diberikan kepada pemilik nomor ini" in said


def test_ordinary_messages_about_phones_and_children_are_not_taken_for_it(
        engine: Engine) -> None:
    """A mother whose child uses her phone, a child telling a story on their own phone, a
    husband who reads the chat: none of them is someone else writing."""
    noted = [t for t in ORDINARY if WRITER in _at_rest(engine, t).snapshot.answers]
    assert not noted, noted


def test_a_child_on_the_mothers_phone_gets_the_childs_danger_text_first(
        engine: Engine) -> None:
    """The owner said she is an adult; her daughter of 16 telling of sexual violence gets
    the child's words (TePSA, "kamu"), first, then the note; said once only."""
    turn = _at_rest(engine, TEEN)
    keys = [r.key for r in turn.replies]
    assert keys[0].endswith(".child") and keys[1] == "writer.child", keys
    first = engine.bundle.catalog.render(turn.replies[0], "id", {}).text
    assert "TePSA" in first and "Kamu" in first
    again = engine.step(turn.snapshot, Inbound("test", "u1", "m2", text="sa pake hp mama"),
                        NOW + timedelta(minutes=1), "id")
    assert "writer.child" not in [r.key for r in again.replies]


def test_the_owners_child_is_recorded_for_staff_and_left_out_of_the_owners_copy(
        service: Service, clock: FrozenClock, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Through the pipeline: the mother's case, then her daughter writes. The daughter's
    messages are logged as someone else's; `cases show` says so in words; the mother's
    DATA copy has none of her words, and staff are warned before they send it."""
    family = Person(service, "mama")
    number = family.intake()
    got = [p["text"] for p in family.say_raw(TEEN)]
    assert any("TePSA" in t for t in got) and any("bukan pemilik HP" in t for t in got), got
    family.say("om tinggal serumah deng kami")
    with service.db.connect() as conn:
        authors = list(conn.execute(select(MessageLog.author, MessageLog.text).where(
            MessageLog.direction == "in").order_by(MessageLog.id)))
    assert [a for a, t in authors if t in (TEEN, "om tinggal serumah deng kami")] == \
        [OTHER_AUTHOR, OTHER_AUTHOR]
    assert {a for a, t in authors if t not in (TEEN, "om tinggal serumah deng kami")} == \
        {"family"}

    assert show_case(service.db, number, now=clock()) == 0
    shown = capsys.readouterr().out
    assert f"{staff.text('speaker.other')}: {TEEN}" in shown
    assert staff.text("event.other_writer") in shown and "anak pemilik HP: ya" in shown

    assert family.say("ini mama lagi")[0] == \
        "Baik, kami catat bahwa yang menulis sekarang pemilik HP ini lagi."
    family.say("DATA")
    with service.db.connect() as conn:
        (req,) = [r for r in store.listing(conn, ("open",)) if r.kind == "data"]
    folder = tmp_path / "exports"
    review = export.export(service.db, req.id, folder, family_texts(), clock(), False, "cli:t")
    assert review.code == 0
    assert review.lines[1] == staff.text("privacy.export_other_writer", n=2, answers=0)
    assert "ini mama lagi" in "\n".join(review.lines)  # the owner's own words are hers
    (kept,) = folder.iterdir()
    flat = json.dumps(json.loads(kept.read_text()), ensure_ascii=False)
    assert "om pegang2" not in flat and "serumah" not in flat
    history = {e["kind"] for e in json.loads(kept.read_text())["history"]}
    assert not history & {"other_writer", "owner_writes"}, history
    assert "penulis lain" not in "\n".join(review.lines[2:])


def test_a_counselor_holding_the_case_is_told_who_writes_now(service: Service) -> None:
    """A counselor holds the mother's case: the daughter's first message reaches her with a
    mark saying the owner's child writes now; her messages are logged as someone else's."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "mama")
    number = family.intake()
    sari.say("/ambil")
    family.unread()
    sari.unread()
    assert family.say("sa pake hp mama, sa mau cerita") == []
    (told,) = [p["text"] for p in sari.unread()]
    assert told.startswith(staff.text("other_writer_mark.child", number=number)), told
    family.say("sa takut pulang")
    (later,) = [p["text"] for p in sari.unread()]
    assert "bukan pemilik HP" not in later  # said once
    with service.db.connect() as conn:
        authors = list(conn.execute(select(MessageLog.author).where(
            MessageLog.direction == "in").order_by(MessageLog.id.desc()).limit(2)).scalars())
    assert authors == [OTHER_AUTHOR, OTHER_AUTHOR]


def test_a_counselor_taking_the_case_reads_who_wrote_while_it_waited(service: Service) -> None:
    """A husband wrote on his wife's phone while her case waited (a re-check's counselor
    read his six messages as hers, and her first reply went to the phone he held): at
    `/ambil` each of his messages is marked as someone else's, hers are not."""
    _, sari = add_staff(service, "Sari", "c1")
    family = Person(service, "mama")
    family.intake()
    family.say("sa su aman, terima kasih")
    family.say("ini sa suaminya. sa pu maitua lapor apa ke kam?")
    family.say("kasih tau sa")
    sari.unread()
    told = "\n".join(sari.say("/ambil"))
    other = staff.text("speaker.other")
    assert f"• {other}: ini sa suaminya. sa pu maitua lapor apa ke kam?" in told, told
    assert f"• {other}: kasih tau sa" in told
    assert "• sa su aman, terima kasih" in told  # hers, unmarked


def test_a_husband_asking_what_his_wife_told_learns_nothing_and_staff_know(
        engine: Engine) -> None:
    """Never 5 (a re-check: a husband on his wife's phone asked "de bilang sa pukul de ka?",
    was read as confessing, and "says they hurt family members" went onto her case): he is
    told that no one learns what another told LK3, with no danger text, and her case says
    that someone on her phone asked, in words; her own reasons are not his."""
    first = _at_rest(engine, "ini sa suaminya")
    asked = engine.step(first.snapshot, Inbound("test", "u1", "m2",
                                                text="de bilang sa pukul de ka?"),
                        NOW + timedelta(minutes=1), "id")
    keys = [r.key for r in asked.replies]
    assert keys[0] == "notice.disclose" and not any(
        k.startswith(("crisis", "emergency", "safety")) for k in keys), keys
    flags = asked.snapshot.flags
    assert "asked_disclosure" in flags and "crisis_harms_others" not in flags
    reasons = engine.bundle.triage.assess({"asked_disclosure": "yes"}).reasons
    assert reasons == ("asked_disclosure",)
    assert "HP ini mungkin tidak aman" in engine.bundle.triage.label("asked_disclosure", "id")


def test_danger_someone_else_writes_counts_and_staff_read_whose_it_is(engine: Engine) -> None:
    """A sister on the owner's phone: "kaka sa dipukul suami skarang" is the owner's danger
    (P0, the emergency text), and the case says the words came from someone else on the
    phone; the owner's own danger words carry no such mark."""
    first = _at_rest(engine, "ini sa adiknya")
    told = engine.step(first.snapshot, Inbound("test", "u1", "m2", text="kaka sa dipukul "
                                                "suami skarang, de masih pegang parang"),
                       NOW + timedelta(minutes=1), "id")
    assert told.replies[0].key.startswith("emergency")
    assert {"crisis_violence", "other_writer_danger"} <= set(told.snapshot.flags)
    own = _at_rest(engine, "suami pukul sa skarang, de masih pegang parang")
    assert "crisis_violence" in own.snapshot.flags
    assert "other_writer_danger" not in own.snapshot.flags
