"""A child writing about harm, known from their own words before the age question.

Found in a walk-through as families write: "sa umur 15 tahun, bapa pukul sa tiap malam"
got the adult text ("Anda tidak salah") and no child line, because the age question comes
after consent. The writer's own age under 18 (or school) in the message, in any sentence,
now brings the texts for a child ("kamu") and TePSA first, in the same turn; an adult naming
a child's age or class ("sa pu anak umur 12", "murid saya kelas 5") does not, nor an adult
telling of their childhood ("waktu sa umur 10"). Once the age question is answered, its
answer decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.caseshow import show
from bot.service import Service
from flows.types import Turn
from tests.support import flows
from tests.test_emergency_question import talk
from tests.test_handoff import Person, case_of

ENGINE = flows()
CRISIS = ENGINE.bundle.crisis
CATALOG = ENGINE.bundle.catalog
DATA = Path(__file__).parent / "data"
TEEN = "sa umur 15 tahun, bapa pukul sa tiap malam kalo de mabuk"
# the texts written to a child about themselves ("kamu"); emergency.child and crisis.p1.child
# are about a child (a parent or neighbour may be writing)
FOR_A_CHILD = {f"{k}.child" for k in ("crisis.p1.violence", "crisis.p1.sexual", "crisis.p1.maybe",
                                      "emergency.violence", "emergency.sexual",
                                      "emergency.child", "crisis.p1.child")} | {
    "emergency.child.child.injured", "crisis.p1.sexual.pregnant.child"}


def first_reply(turn: Turn) -> tuple[str, str]:
    reply = turn.replies[0]
    return reply.key, CATALOG.render(reply, "id").text


@pytest.mark.parametrize("text", [
    TEEN,
    "sa masih SMP kelas 2, bapa tiri pukul sa trus",
    "Kak aku umur 15, aku diusir dari rumah karena hamil, aku gak punya tempat tinggal",
    "sa 13thn sa di asrama dipukul kaka kelas pake kayu sampe biru2",
    # a greeting first: "kaka" is the one greeted, not a sibling (a walk-through: a boy of
    # 14 was answered as an adult, the police first)
    "halo kaka sa anak smp kls 2, kaka2 kls 3 pukul sa di sekolah",
    "selamat malam kaka sa umur 15, bapa pukul sa",
    # a boy of 13 and his sister, not fed (a walk-through: offered the money category)
    "sa umur 13 thn. mama mabuk trus tiap malam, kami tra makan dari kemarin. bapa di "
    "penjara. sa deng adik 2 org",
])
def test_a_teen_who_gives_their_age_gets_the_texts_for_a_child(text: str) -> None:
    turns = talk(text, "1", "1")  # safe now (where it was P0), then chat
    key, said = first_reply(turns[0])
    assert key in FOR_A_CHILD, (key, said)
    assert "kamu" in said
    numbers = [line for line in said.splitlines() if line.startswith("•")]
    if key.endswith(".injured"):  # hurt ("sampe biru2"): the health post, then the child's
        numbers = numbers[1:]
        assert "IGD" in said.splitlines()[0]
    assert numbers[0].startswith("• Anak dalam bahaya (TePSA)"), numbers
    # and the questions before consent are asked in "kamu" too
    asked = [r.key for t in turns for r in t.replies][1:]
    # (after the emergency message the danger question is not asked again)
    urgent = key.startswith("emergency")
    assert {"greeting.told_danger.young", *(() if urgent else ("danger.young",))} <= \
        set(asked), asked


@pytest.mark.parametrize("text", [
    "sa pu anak umur 12 dipukul bapa tirinya",
    "saya guru SD. murid saya kelas 5 sering datang dengan luka di lengan, katanya dipukul",
    "waktu sa umur 10 bapa pukul sa, skarang sa su 30 thn dan suami juga pukul sa",
    "sa umur 35, suami pukul sa tiap malam",
])
def test_an_adult_naming_a_child_or_their_childhood_is_not_written_to_as_a_child(
        text: str) -> None:
    key, said = first_reply(talk(text)[0])
    assert key not in FOR_A_CHILD, (key, said)


def test_a_child_in_danger_who_writes_is_asked_about_themselves() -> None:
    """A walk-through found a child writing get "Keselamatan anak yang utama. Jika bisa,
    bawa anak ke tempat aman" and "Apakah anak itu aman sekarang?", then "Kami tandai bahwa
    anak itu masih dalam bahaya... bawa anak": words for a parent or a neighbour."""
    first, second = talk("sa umur 14 sa ditinggal sendiri di rumah su 3 hari tra ada makan, "
                         "skarang sa sakit", "masih dalam bahaya")
    assert first.replies[0].key == "emergency.child.child"
    text = CATALOG.render(first.replies[0], "id").text
    assert "Apakah kamu aman sekarang?" in text and "bawa anak" not in text
    assert second.replies[0].key == "emergency.still_ack.young"  # "kamu", an adult you trust
    assert "orang dewasa yang kamu percaya" in CATALOG.render(second.replies[0], "id").text


def test_a_child_marriage_counts_when_the_age_is_in_another_sentence() -> None:
    """`if_minor` phrases (married off, bride price) count for a writer under 18 wherever
    the age stands in the message."""
    scan = CRISIS.scan("Halo, saya 15 tahun. Saya mau dikawinkan paksa karena bapa su terima "
                       "maskawin. Saya tidak mau.")
    assert "child" in scan.groups and scan.young
    assert not CRISIS.scan("Saya mau dikawinkan bulan depan, sudah terima maskawin.")


def test_the_age_question_decides_once_answered() -> None:
    """A teen's words make the texts a child's until the age question says otherwise."""
    turns = talk(TEEN, "1", "3", "1", "2")  # chat, no danger now, agree, age: an adult
    assert turns[-1].snapshot.answers["age"] == "adult", turns[-1].snapshot.state
    again = talk(TEEN, "1", "3", "1", "2", "bapa pukul sa lagi tadi")[-1]
    key, said = first_reply(again)
    assert key == "crisis.p1.violence", (key, said)


@pytest.mark.parametrize(("first", "answer"), [
    ("sa umur 15 kk, sa pu bapa suka pukul sa kalo de mabuk. tadi malam de pukul sa pake "
     "ikat pinggang", "tra tau"),
    ("sa 16 thn kk, sa pu mama pukul sa trus", "LEWATI"),
    ("sa 16 thn kk, sa pu mama pukul sa trus", "3"),
])
def test_an_age_she_told_stands_when_she_gives_none_at_the_age_question(
        first: str, answer: str) -> None:
    """Walk U-5: a girl of 15 who told her age answered "Dari ceritamu tadi: Di bawah 18
    tahun? Balas IYA" with "tra tau" (in 09, LEWATI) and was stored as not saying: "Anda"
    to the end, no trusted adult, no ASQ, SAPA for TePSA. Her words stand, marked as
    hers; she is told so, and how to change it."""
    turns = talk(first, "1", "3", "1", answer)  # chat, no danger now, agree, the age
    after = turns[-1]
    assert after.snapshot.answers["age"] == "under18"
    assert after.snapshot.answers["age_from"] == "words"
    said = [(r.key, CATALOG.render(r, "id").text) for r in after.replies]
    assert said[0][0] == "age.told.under18" and "umur salah" in said[0][1]
    assert said[-1][0] == "child_intro", said  # the trusted adult, asked of a child
    nxt = talk(first, "1", "3", "1", answer, "2")[-1]  # no trusted adult: the problem,
    assert nxt.replies[-1].key.endswith(".young")  # asked of her ("Dari ceritamu tadi")


def test_an_age_told_and_said_wrong_is_asked_plainly() -> None:
    """Her told age kept, then "umur salah": the age question again without offering it,
    and what she chooses now stands."""
    script = (TEEN, "1", "3", "1", "tra tau", "umur salah")
    again = talk(*script)[-1]
    assert again.snapshot.state == "age" and "age" not in again.snapshot.answers
    assert "Dari ceritamu tadi" not in CATALOG.render(again.replies[-1], "id").text
    chose = talk(*script, "3")[-1].snapshot.answers
    assert chose["age"] == "unsaid" and "age_from" not in chose


def rows(name: str) -> list[dict[str, Any]]:
    """The messages of a data file's rounds (also tests/test_someone_else.py's)."""
    raw = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return [m for part in raw.values() for m in part]


def _measure(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(teens who gave their age, of them read as a child, adults read as a child)."""
    teens = [m for m in rows if m["writer"] == "teen" and m["says_age"]]
    read = sum(CRISIS.scan(m["text"]).young for m in teens)
    adults = sum(CRISIS.scan(m["text"]).young for m in rows if m["writer"] == "adult")
    return len(teens), read, adults


def test_teens_are_known_by_their_own_words_on_the_tuning_set() -> None:
    teens, read, adults = _measure(rows("young_writers.yaml"))
    assert read / teens >= 0.85, (read, teens)
    assert adults == 0


def test_teens_are_known_by_their_own_words_in_messages_nobody_tuned_for() -> None:
    """The held-out round: 38 of 62 and 1 adult the day it came (its header)."""
    teens, read, adults = _measure(rows("young_writers_heldout.yaml"))
    assert read / teens >= 0.6, (read, teens)
    assert adults <= 1


def test_a_child_who_says_so_at_the_age_question_is_written_to_as_kamu_to_the_end() -> None:
    """A girl of 15 through the whole intake (a walk-through read "Keselamatan Anda penting",
    "di dekat Anda" and "Nomor kasus Anda" after answering "under 18"): from the age answer
    on, no text the bot writes her says "Anda"; the closing keeps her safe times."""
    script = ["halo", "1", "3", "1", "1",  # chat, no danger now, consent, under 18
              "1", "4", "1", "1", "LEWATI",  # a trusted adult, sexual violence, me, distrik
              "2", "2", "2", "1", "1", "2",  # the risk questions
              "2", "2", "2", "2", "2",  # a child hurt now, the self-harm screen
              "1", "1", "pagi", "2", "LEWATI", "LEWATI"]  # safe to chat, by chat, safe times
    turns = talk(*script)
    after = turns[script.index("1", 4):]  # from the age answer
    said = [(r.key, CATALOG.render(r, "id", {"case_number": "LK3-2026-00001"}).text)
            for t in after for r in t.replies]
    formal = [(k, t) for k, t in said if "Anda" in t]
    assert not formal, formal
    assert turns[-1].snapshot.state == "closing" and "waktu aman yang kamu sebut: pagi" in \
        said[-1][1]
    assert any(k == "safety_p1.young" for k, _ in said)


def test_a_child_hiding_while_her_mother_bleeds_is_not_told_she_is_hurt() -> None:
    """Walk O: a girl of 13 hiding with her little brothers while her father beat her mother
    read "Kamu terluka, dan itu perlu ditolong dulu" and nothing about hiding. Whoever is
    hurt is brought to the IGD by an adult she trusts, and she is told how to hide."""
    from tests.test_danger_protocol import say, snapshot_at

    turn = say(snapshot_at("category", age="under18"), "sa pu bapa kalo mabuk de pukul sa "
               "pu mama. tadi malam mama sampe berdarah di kepala. sa takut skali, sa deng "
               "ade2 sembunyi di kamar")
    key, said = first_reply(turn)
    assert key == "emergency.child.child.injured", key
    assert "Kamu terluka" not in said and "Yang terluka" in said
    assert "matikan suara HP" in said and "Anda" not in said


def test_a_child_who_gives_her_age_without_danger_words_reads_kamu() -> None:
    """Walk O (re-checked): a girl of 16 promised in marriage for a bride price wrote her age
    in her first message and read "Anda" in the welcome, the consent and "Berapa usia
    Anda?", asked twice: her age was read only beside danger words. It is read in any
    story now, and offered at the age question. (Her own message is danger now, the
    next test: a story without danger words here.)"""
    turns = talk("kaka sa umur 16. sa mau tanya, sa pu bapa deng mama su tra ada uang untuk "
                 "sa pu uang sekolah, sa masih mau sekolah", "1", "3", "1")
    said = [(r.key, CATALOG.render(r, "id", {"case_number": "LK3-2026-00001"}).text)
            for t in turns for r in t.replies]
    assert not [(k, t) for k, t in said if "Anda" in t], said
    assert said[0][0] == "greeting.told_story.young" and "consent.young" in dict(said)
    assert any(k.startswith("from_story") for k, _ in said), said  # her age, offered


def test_a_girl_promised_for_a_bride_price_is_a_child_in_danger() -> None:
    """Walk O: the same girl of 16 (bride price taken, "sa harus ikut de bulan depan") got
    the welcome alone and was offered marriage preparation. A bride price taken for a child
    is a child in danger (the P1 texts for a child, staff told) and she hears that she may
    refuse."""
    turns = talk("kaka sa umur 16. sa pu bapa deng om2 su terima mas kawin dari laki2 umur "
                 "35, babi 5 ekor deng uang. dong bilang sa harus ikut de bulan depan. sa tra "
                 "mau, sa masih mau sekolah", "1", "3", "1")
    said = [(r.key, CATALOG.render(r, "id", {"case_number": "LK3-2026-00001"}).text)
            for t in turns for r in t.replies]
    assert not [(k, t) for k, t in said if "Anda" in t], said
    assert said[0][0] == "crisis.p1.child.child", said
    assert "berhak menolak" in dict(said)["notice.forced_marriage"]
    assert "crisis_child" in turns[-1].snapshot.flags
    assert turns[0].snapshot.answers["_story"].get("category") != "premarital"


def test_a_child_known_from_their_first_words_reads_kamu_whatever_they_ask() -> None:
    """A girl of 13 who told of her father's blows (a re-check after walk N's mixed "Anda"
    and "kamu"): she read "Apakah Anda setuju?" at consent, and "Anda" again after asking
    whether it is secret, PETUGAS, DARURAT or BERHENTI, texts chosen where who writes was
    not asked. Every text she reads says "kamu"; DARURAT lists TePSA first."""
    script = ["halo kk, sa umur 13 thn. bapa suka pukul sa kalo de mabuk", "1", "2",
              "maksudnya apa", "?", "ini rahasia ka?", "ko bot ka?", "kapan petugas balas",
              "PETUGAS", "INFO", "1", "DARURAT", "1", "UBAH", "HAPUS", "BERHENTI"]
    turns = talk(*script)
    said = [(r.key, CATALOG.render(r, "id", {"case_number": "LK3-2026-00001"}).text)
            for t in turns for r in t.replies]
    formal = [(k, t) for k, t in said if "Anda" in t]
    assert not formal, formal
    keys = [k for k, _ in said]
    assert {"consent.young", "consent.plain.young", "faq.secret.young", "faq.bot.young",
            "human_requested.young", "consent.long.young", "emergency.young",
            "stopped.no_case.young"} <= set(keys), keys
    darurat = dict(said)["emergency.young"]
    numbers = [line for line in darurat.splitlines() if line.startswith("•")]
    assert "TePSA" in numbers[0], numbers


def test_an_adult_is_not_asked_whether_they_are_a_child() -> None:
    """A man of 45 who gave his age was asked "Apakah ada anak (termasuk Anda sendiri, bila
    Anda di bawah 18 tahun)..." (a walk-through); one who gave no age still is, and a child
    is asked in "kamu"."""
    from tests.test_danger_protocol import say, snapshot_at

    for age, key in (("adult", "risk.child_now.adult"), ("unknown", "risk.child_now")):
        asked = say(snapshot_at("risk_injured", age=age, category="child", who="child"), "2")
        assert [r.key for r in asked.replies] == [key], age
    said = CATALOG.text("risk.child_now.adult", "id")
    assert "termasuk Anda" not in said and said.endswith("saat ini?")


def test_a_pregnant_girl_of_16_reaches_a_person_and_her_questions_are_answered() -> None:
    """"sa umur 16 sa hamil, yg buat itu sa pu guru" (a re-check: read by the model only, a
    general text, no case; "will my parents be told?" and "will the teacher be arrested?"
    asked four times, unanswered): sexual violence against a child, in "kamu", a case for
    staff before consent (vital interest), and both questions answered with the limits."""
    first = talk("sa umur 16 sa hamil, yg buat itu sa pu guru di sekolah. sa blum kasi tau "
                 "siapa2")[0]
    assert first.replies[0].key == "crisis.p1.sexual.pregnant.child", first.replies
    opened = [e.data for e in first.events if e.kind == "case_upsert"]
    assert opened and opened[0]["legal_basis"] == "vital_interest"
    from tests.test_danger_protocol import say

    told = say(first.snapshot, "nanti sa pu mama bapa dikasi tau ka?")
    assert told.replies[0].key == "faq.secret.young", told.replies  # in "kamu"
    asked = say(told.snapshot, "guru itu nanti ditangkap ka? sa takut nanti sa dikeluarkan")
    assert asked.replies[0].key == "notice.arrest", asked.replies
    said = CATALOG.text("notice.arrest", "id")
    assert "kekerasan seksual" in said and "wajib" in said


def test_a_child_told_of_the_same_danger_again_gets_the_short_form() -> None:
    """A boy of 14 read the whole emergency block three or four times in one night (a
    walk-through): the same danger again is "Kami sudah menandai ini darurat", the numbers
    and the question, still in "kamu"."""
    _, _, again = talk("sa umur 13, bapa pukul sa skarang pake kayu", "1",
                       "de pukul sa lagi skarang, sa sembunyi di kamar")
    assert again.replies[0].key == "emergency.violence.child.again"
    said = CATALOG.render(again.replies[0], "id").text
    assert said.startswith("Kami sudah menandai ini darurat") and "Apakah kamu aman" in said


def test_a_child_who_told_their_age_is_offered_it_at_the_age_question() -> None:
    """A boy of 14 who wrote "sa masi 14 thn" was asked "Berapa usia Anda?" later and his
    "sa su bilang td 14" was not understood (a walk-through): the age he told is offered,
    in "kamu", and "iya" takes it."""
    *_, age = talk("sa umur 14, bapa pukul sa tadi", "1", "2", "1")
    said = CATALOG.render(age.replies[-1], "id").text
    assert "Dari ceritamu tadi: Di bawah 18 tahun?" in said
    assert talk("sa umur 14, bapa pukul sa tadi", "1", "2", "1", "iya")[-1].snapshot.answers[
        "age"] == "under18"


def test_a_girl_whose_uncle_comes_to_her_room_at_night_is_in_danger_now() -> None:
    """A girl of 13 told of her uncle touching her at night; "kk de bangun. de jalan ke sa pu
    kamar" and "om su buka pintu kk" got "Mohon jawab dulu" and "belum mengerti" (a
    walk-through). Her first words are sexual violence against a child; him coming to her
    room, or at her door, is danger now, in her words."""
    first, *_ = talk("sa umur 13. om suka pegang sa pu badan kalo malam")
    assert first.replies[0].key == "crisis.p1.sexual.child"
    for now in ("kk de bangun. de jalan ke sa pu kamar", "om su buka pintu kk"):
        turn = talk("sa umur 13. om suka pegang sa pu badan kalo malam", "1", now)[-1]
        assert turn.replies[0].key == "emergency.sexual.child", (now, turn.replies[0].key)


@pytest.mark.parametrize(("text", "key"), [
    ("kk sa umur 17 sa hamil, sa takut kasi tau mama, pacar sa tra mau tanggung jawab",
     "crisis.p1.sexual.pregnant.child"),
    ("sa masih smp, sa hamil 3 bulan, pacar sa lari", "crisis.p1.sexual.pregnant.child"),
    ("sa pu anak umur 15 hamil, sa harus bagaimana", "crisis.p1.sexual.pregnant.about_child"),
    # force told in words: the text for sexual violence
    ("sa umur 15 sa diperkosa om sampe hamil", "crisis.p1.sexual.child"),
])
def test_a_pregnant_girl_hears_of_the_puskesmas_first(text: str, key: str) -> None:
    """Walk L: a girl of 17, pregnant by her boyfriend and afraid to tell her mother, read
    "Kalau kejadiannya baru, minta orang dewasa ... mengantar ke Puskesmas", a text for a
    rape just now. A child's pregnancy stays a case for staff (the law counts it as sexual
    violence against a child); she reads of antenatal care, someone to go with her, and that
    force or an adult father is not her fault."""
    turn = talk(text)[0]
    assert turn.replies[0].key == key, turn.replies
    said = CATALOG.render(turn.replies[0], "id").text
    if "pregnant" in key:
        assert "bidan" in said and "kejadiannya baru" not in said
        assert "dipaksa" in said
    assert any(e.kind == "case_upsert" for e in turn.events)


def test_a_child_who_wants_to_die_is_answered_as_a_child() -> None:
    """A boy of 14 who wrote that he would hang himself tonight read "Nyawa Anda berharga ...
    minta orang yang Anda percaya": the adult's text, and no child line. He reads "kamu", is
    sent to an adult he trusts, and TePSA comes right after 119; a P1 thought too."""
    turn = talk("sa umur 14, sa mo gantung diri malam ini")[0]
    assert turn.replies[0].key == "emergency.selfharm.child"
    said = CATALOG.render(turn.replies[0], "id").text
    numbers = [line for line in said.splitlines() if line.startswith("•")]
    assert numbers[0].startswith("• Pikiran bunuh diri") and "TePSA" in numbers[1], numbers
    assert "kamu percaya" in said and "Anda" not in said
    thought = talk("sa umur 15, kadang sa pikir mo akhiri hidup")[0]
    assert thought.replies[0].key == "crisis.p1.selfharm.child"


def test_a_girl_hiding_while_her_father_is_in_the_living_room_is_not_sent_out() -> None:
    """Walk O (re-checked): a girl of 13 hiding in her room while her father, who beat her
    mother bloody, sat in the living room: "bapa masih di ruang tamu" read "Maaf, saya belum
    mengerti", then "pergi sekarang ke ... tetangga", and "mama masih berdarah" brought the
    whole injury text a second time. She is still in danger, told to stay quiet where she
    is, and the bleeding is "we have it as urgent" with the numbers."""
    turns = talk("kk tolong sa umur 13, bapa pukul mama di ruang tamu, mama pu kepala "
                 "berdarah, sa sembunyi di kamar", "bapa masih di ruang tamu",
                 "mama masih berdarah")
    keys = [[r.key for r in t.replies] for t in turns]
    assert keys[1][0] == "emergency.still_ack.silent.young", keys[1]
    said = CATALOG.render(turns[1].replies[0], "id").text
    assert "tetap diam di tempatmu" in said and "pergi sekarang" not in said
    assert "still_in_danger" in turns[1].snapshot.flags
    assert keys[2][0] == "emergency.injury.again.young", keys[2]


def test_staff_read_that_her_age_came_from_her_own_words(
        service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    """Walk U-5, the staff side: staff read "Tidak mau menjawab" for a girl who had told
    her age. They read her age, and that she told it, not chose it."""
    girl = Person(service, "62877")
    for text in ("sa 16 thn kk, sa pu mama pukul sa trus", "1", "3", "1", "LEWATI"):
        girl.say(text)
    capsys.readouterr()
    assert show(service.db, case_of(service.db, girl.user).number) == 0
    out = capsys.readouterr().out
    assert "Di bawah 18 tahun (dari ceritanya sendiri; tidak dipilih saat ditanya)" in out
    assert "Tidak mau menjawab" not in out
