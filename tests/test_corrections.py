"""A wrong answer taken back (flows/corrections.py), as a tester playing families found it:
"salah pilih kk" was read as an answer to the next question ("kk": a sibling), "bukan
ekonomi, sa salah pilih. sa pu masalah deng paitua" kept the category and offered the
husband as "who needs help", "kk sa mau ganti jawaban tadi" was "belum mengerti", and after
one message that answered nothing "salah pencet" found nothing to take back.

The engine is stepped directly (it is pure), and the replies are read as the family reads them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.service import Service
from flows.types import Snapshot, Turn
from storage import cases
from tests.support import Family
from tests.test_danger_protocol import (
    CATALOG,
    EMERGENCY_KEYS,
    FLOW,
    priority,
    say,
    snapshot_at,
    words,
)


def keys(turn: Turn) -> list[str]:
    return [r.key for r in turn.replies]


def asked(turn: Turn) -> str:
    """The question the turn ends on, as the family reads it (its first line)."""
    return CATALOG.render(turn.replies[-1], "id").text.splitlines()[0]


def taken_back(turn: Turn) -> list[str]:
    return [e.data["state"] for e in turn.events if e.kind == "answer_taken_back"]


def answered(*texts: str, at: str = "category") -> Snapshot:
    """A conversation after consent that answered `texts` from the question `at` on."""
    snap = snapshot_at(at)
    for text in texts:
        snap = say(snap, text).snapshot
    return snap


def at_distrik() -> Snapshot:
    """Economy (6), then "myself" (1): the distrik question is asked."""
    snap = answered("6", "1")
    assert snap.state == "distrik" and snap.answers["category"] == "economy"
    return snap


@pytest.mark.parametrize("text", [
    "salah pilih kk", "sa salah pilih dulu", "tadi sa salah ketik kk", "salah pencet dulu kaka",
    "maaf kk, sa salah pencet", "aduh kk sa salah tekan", "sa pencet salah kk",
    "kepencet kk", "eh salah", "salah kk", "kk sa mau ganti jawaban tadi",
    "boleh ganti jawaban yang tadi ka?", "jawaban tadi salah", "yang tadi salah kk",
    "sa pu jawaban tadi salah", "ralat", "ralat kk", "kembali ke pertanyaan sebelumnya",
    "balik ke pertanyaan tadi kk", "go back", "wrong answer", "sorry i pressed the wrong button",
    "my bad", "change my last answer",
])
def test_a_correction_as_families_write_it_takes_the_answer_back(text: str) -> None:
    """Papuan Malay, Indonesian and English: the choice just taken goes, its question again."""
    turn = say(answered("6"), text)
    assert taken_back(turn) == ["category"], keys(turn)
    assert turn.snapshot.state == "category" and "category" not in turn.snapshot.answers
    assert asked(turn) == CATALOG.text("category", "id")
    assert say(turn.snapshot, "1").snapshot.answers["category"] == "couple"


def test_a_correction_with_the_answer_meant_takes_that_answer() -> None:
    """What follows the correction is the answer meant, read as any answer and said back."""
    turn = say(answered("19", at="age"), "eh salah pencet, sa umur 29")
    assert taken_back(turn) == ["age"] and turn.snapshot.answers["age"] == "adult"
    assert keys(turn) == ["answer_noted", "category"]
    assert f"Saya catat: {CATALOG.text('age.adult', 'id')}" in words(turn)

    turn = say(answered("6"), "bukan ekonomi, sa salah pilih. sa pu masalah deng paitua")
    assert turn.snapshot.answers["category"] == "couple", keys(turn)
    assert "who" not in turn.snapshot.answers and turn.snapshot.state == "who"
    assert f"Saya catat: {CATALOG.text('category.couple', 'id')}" in words(turn)
    assert asked(turn) == CATALOG.text("who", "id")

    turn = say(answered("1", "wania", at="who"), "salah kk, maksudnya distrik kuala kencana")
    assert turn.snapshot.answers["distrik"] == "kuala_kencana" and turn.snapshot.state == "kampung"

    for typo in ("aduh salah ketik maksudnya 3", "salah ketik bukan 4 maksudnya 3",
                 "salah, maksudnya 3", "bukan 4, maksudnya 3"):
        turn = say(answered("4"), typo)
        assert turn.snapshot.answers["category"] == "child", (typo, keys(turn))
        assert keys(turn) == ["answer_noted", "who"], typo


def test_what_was_meant_may_be_offered_or_asked_again_as_any_answer() -> None:
    """The words meant are read as any answer: a guess is offered ("Maksud Anda ...?"),
    words that answer nothing ask the question again."""
    turn = say(at_distrik(), "bukan sa, sa pu anak yang butuh bantuan")
    assert taken_back(turn) == ["who"] and turn.snapshot.state == "who"
    assert keys(turn) == ["did_you_mean"]
    assert CATALOG.text("who.child", "id") in words(turn)
    assert turn.snapshot.answers["category"] == "economy"  # the answer before it stays
    assert say(turn.snapshot, "iya").snapshot.answers["who"] == "child"
    turn = say(answered("6"), "salah pencet kk, tadi sa ke pasar")
    assert taken_back(turn) == ["category"] and turn.snapshot.state == "category"
    assert "category" not in turn.snapshot.answers


def test_an_answer_named_two_questions_back_is_taken_back_with_those_after_it() -> None:
    """"bukan ekonomi" at the distrik question goes back to the category question; "who"
    given after it is asked again (the new problem may change what is asked)."""
    turn = say(at_distrik(), "bukan ekonomi")
    assert taken_back(turn) == ["category"] and turn.snapshot.state == "category"
    assert not {"category", "who"} & set(turn.snapshot.answers)
    assert asked(turn) == CATALOG.text("category", "id")
    again = say(turn.snapshot, "3")  # a child's problem
    assert again.snapshot.answers["category"] == "child" and again.snapshot.state == "who"
    turn = say(at_distrik(), "bukan kk, sa tra tau")  # "no, kaka": names no sibling
    assert taken_back(turn) == [] and turn.snapshot.answers["who"] == "self"


def test_how_far_back_an_answer_may_be_named() -> None:
    """Among the last three choices of this intake, and never at rest."""
    snap = answered("6", "1", "wania", "LEWATI")  # ... kampung skipped: the risk questions
    assert snap.state not in ("distrik", "kampung")
    turn = say(snap, "bukan wania, sa di kuala kencana")
    assert taken_back(turn) == ["distrik"] and turn.snapshot.answers["distrik"] == "kuala_kencana"
    snap = answered("2", "1", "2", "wania", "LEWATI", "2", "2", "2", at="age")  # 5+ answers
    turn = say(snap, "bukan ekonomi")  # never chosen: nothing named
    assert taken_back(turn) == []
    turn = say(snap, "bukan 18 tahun atau lebih")  # the age, too far back now
    assert taken_back(turn) == [] and snap.answers["age"] == turn.snapshot.answers["age"]
    closing = snapshot_at("closing", category="economy")
    rest = say(closing, "salah ketik")
    assert rest.replies and rest.snapshot.state == "closing"  # where things stand, not silence


def test_a_message_that_answered_nothing_keeps_the_answer_just_before() -> None:
    """A re-prompt or a question about the service between the answer and the correction:
    the answer just before is still the one taken back."""
    for between in (["apa"], ["ini rahasia ka?"], ["xyz", "sa tra mengerti"],
                    ["kk sa mau ganti jawaban"]):  # (UBAH: the right, recorded)
        snap = at_distrik()
        for text in between:
            snap = say(snap, text).snapshot
        turn = say(snap, "salah pencet kk")
        assert taken_back(turn) == ["who"], between
        assert turn.snapshot.state == "who" and "Maaf" not in words(turn)
    again = say(say(at_distrik(), "kk sa mau ganti jawaban tadi").snapshot, "salah ketik")
    assert taken_back(again) == []  # a second one takes back no more


NOT_CORRECTIONS = [
    "bukan sa yang pukul", "salah paham deng paitua",
    "de bilang sa salah terus", "tadi sa ke pasar", "sa salah pilih suami", "sa salah",
    "sa yang salah",
    "salah", "bukan", "bukan itu", "bukan kk", "bukan ya", "salah ka", "sa salah kirim",
    "bukan sa yang salah, de yang mabuk", "ubah jawaban saya", "bukan begitu kk",
    "jangan salah paham kk", "sa tra mau salah langkah", "tadi sa pilih diam saja",
    "kembali ke rumah mama", "bukan dia, tapi de pu adik", "sa rasa sa yang salah didik anak",
    "bukan sa yang salah", "sa pu anak salah pergaulan", "bukan sa tapi de yang mulai",
    "bukan hanya ekonomi, paitua juga mabuk tiap malam",
    "bukan ekonomi saja, anak juga tra sekolah", "bukan ekonomi saja anak juga tra sekolah",
    "sa pu masalah salah paham deng mama mantu", "umur sa salah di kartu keluarga jadi bantuan "
    "tra dapat", "sa pu umur su tua, sa tra kuat kerja", "sa tra salah apa2", "salah sa apa ka",
]


@pytest.mark.parametrize("text", NOT_CORRECTIONS)
def test_ordinary_messages_are_no_correction_and_keep_the_answer_before(text: str) -> None:
    """Stories and replies with "salah", "bukan", "tadi" take nothing back, and the answer
    just before can still be taken back after them."""
    turn = say(at_distrik(), text)
    assert taken_back(turn) == [], keys(turn)
    assert turn.snapshot.answers["who"] == "self"
    assert turn.snapshot.answers["category"] == "economy"
    undo = say(turn.snapshot, "salah pilih kk")
    assert taken_back(undo) == ["who"], text


@pytest.mark.parametrize("text", [
    "bukan cuma ekonomi, de juga pukul sa", "bukan cuma ekonomi de juga pukul sa",
    "bukan sa saja, anak2 juga de pukul", "anak sa pu umur salah di akte",
    "de pu umur salah di KTP"])
def test_not_only_and_another_s_age_take_nothing_back(text: str) -> None:
    """ "bukan cuma ekonomi, de juga pukul sa" adds to the problem, it corrects nothing
    (the danger words are read as danger); a child's or a husband's age "salah" on a
    document is a story, not the writer's age answered wrong."""
    turn = say(at_distrik(), text)
    assert taken_back(turn) == [], keys(turn)
    assert turn.snapshot.answers["category"] == "economy"
    assert "crisis_disputed" not in turn.snapshot.flags


@pytest.mark.parametrize("story", ["sa salah pilih suami, de pukul sa terus kalo de mabuk",
                                   "sa salah apa ka sampe de pukul sa"])
def test_a_story_of_blame_with_danger_words_is_danger_and_a_correction_then_disputes_it(
        story: str) -> None:
    """Danger words in a story with "salah pilih": read as danger, nothing taken back; a
    "salah pilih kk" after it is about those words (recorded for staff, they still count)."""
    turn = say(at_distrik(), story)
    assert taken_back(turn) == [] and "crisis_violence" in turn.snapshot.flags
    undo = say(turn.snapshot, "salah pilih kk")
    assert taken_back(undo) == [] and keys(undo)[0] == "mistyped_ack"
    assert {"crisis_violence", "crisis_disputed"} <= set(undo.snapshot.flags)
    assert undo.snapshot.answers["who"] == "self" and undo.snapshot.state == "distrik"


def test_a_no_to_an_offer_with_the_answer_meant_answers_this_question() -> None:
    """ "bukan, maksudnya 3" to "Maksud Anda: Anak?" says no to the offer and answers this
    question; the answer before it stays."""
    offered = say(answered("6"), "sa pu anak yang butuh bantuan")
    assert keys(offered) == ["did_you_mean"]
    turn = say(offered.snapshot, "bukan, maksudnya 3")
    assert taken_back(turn) == [], keys(turn)
    assert turn.snapshot.answers["category"] == "economy"
    assert turn.snapshot.answers["who"] == "partner"


def test_danger_words_in_what_was_meant_are_read_as_danger() -> None:
    """The rest of a correction is read for danger as any message: the 24-hour numbers, the
    flag for staff, and the question taken back asked again."""
    turn = say(at_distrik(), "salah pilih kk, sa pu paitua pukul sa tiap malam")
    assert taken_back(turn) == ["who"] and turn.snapshot.state == "who"
    assert "crisis.p1.violence" in keys(turn) and "crisis_violence" in turn.snapshot.flags


def test_a_danger_answer_taken_back_leaves_what_it_set_off() -> None:
    """"1" (danger now) brought the emergency message and a P0 case; "salah pencet kk, sa
    tra dalam bahaya" takes the answer back and reads the rest at that question: the alert
    stays sent (its flag kept, no case sent again lower)."""
    alert = say(snapshot_at("danger", consent=None), "1")
    assert EMERGENCY_KEYS & set(keys(alert)) and priority(alert.snapshot) == "P0"
    turn = say(alert.snapshot, "salah pencet kk, sa tra dalam bahaya")
    assert taken_back(turn) == ["danger"], keys(turn)
    assert turn.snapshot.answers["danger"] == "no" and turn.snapshot.state == "consent"
    assert "p0_alerted" in turn.snapshot.flags
    assert set(alert.snapshot.flags) <= set(turn.snapshot.flags)
    assert not any(e.kind == "case_upsert" for e in turn.events)
    assert not EMERGENCY_KEYS & set(keys(turn))


def test_danger_words_called_a_mistake_with_the_answer_meant() -> None:
    """"aduh sa mo mati, sa pu hp rusak" read as self-harm and the category; "salah pilih kk,
    sa pu masalah ekonomi" records the dispute (the words still count, never below P1) and
    takes economy."""
    told = say(snapshot_at("category"), "aduh sa mo mati, sa pu hp rusak")
    assert told.snapshot.answers["category"] == "selfharm"
    turn = say(told.snapshot, "salah pilih kk, sa pu masalah ekonomi")
    assert turn.snapshot.answers["category"] == "economy", keys(turn)
    assert keys(turn)[0] == "mistyped_ack"
    assert {"crisis_selfharm", "crisis_disputed"} <= set(turn.snapshot.flags)
    assert priority(turn.snapshot) in ("P0", "P1")


def test_a_child_reads_the_question_taken_back_in_its_own_words() -> None:
    """A girl of 15 ("kamu"): the question asked again is in the child's form."""
    snap = say(snapshot_at("category", age="under18"), "6").snapshot
    turn = say(snap, "salah pilih kk")
    assert keys(turn) == ["category.young"]


def test_a_conversation_saved_before_corrections_takes_its_answer_back() -> None:
    """A snapshot of before (one answer kept, not a list of them) still has its answer just
    before: "salah pilih kk" takes it back."""
    snap = snapshot_at("who", category="economy", _answered=["category", "who", False])
    turn = say(snap, "salah pilih kk")
    assert taken_back(turn) == ["category"] and "category" not in turn.snapshot.answers


def test_a_correction_a_day_later_still_records_the_dispute_of_danger_words() -> None:
    """"salah pilih kk" after a day away, with danger words before it: recorded for staff
    (a correction in a sentence is not read then: the question comes again)."""
    told = say(snapshot_at("who", category="economy"), "saya dipukul suami")
    later = replace(told.snapshot, updated_at=told.snapshot.updated_at - timedelta(days=2))
    undo = say(later, "salah pilih kk")
    assert {"crisis_violence", "crisis_disputed"} <= set(undo.snapshot.flags)
    assert keys(undo)[0] == "mistyped_ack"


def test_a_correction_long_after_danger_words_disputes_nothing() -> None:
    """Walk Q: a neighbour told of blows next door, answered several questions, took back a
    mistaken category ("salah pilih kk, bukan ekonomi. ini soal pukul istri"), then wrote
    "salah pilih" once more: staff read "kata bahaya, lalu bilang salah ketik atau bercanda"
    of a live beating. A correction with nothing left to take back disputes danger words
    only when they came after the last answer; here the category is asked again, and the
    danger words are not disputed. The category meant is domestic violence."""
    told = say(answered("6"), "saya dipukul suami")  # economy, then danger words at "who"
    snap = say(told.snapshot, "1").snapshot  # who needs help: myself
    fixed = say(snap, "salah pilih kk, bukan ekonomi. ini soal pukul istri")
    assert fixed.snapshot.answers.get("category") == "dv", keys(fixed)
    again = say(say(fixed.snapshot, "salah pilih").snapshot, "salah pilih")
    assert "crisis_disputed" not in again.snapshot.flags
    assert "mistyped_ack" not in keys(again)
    # right after the danger words it is still about them (recorded, they still count)
    right_after = say(told.snapshot, "salah ketik")
    assert "crisis_disputed" in right_after.snapshot.flags


def test_still_being_beaten_told_by_a_neighbour_stays_the_neighbour_s_danger() -> None:
    """Walk Q: "masih, dong masih baku pukul" at "is everyone safe now?" after a neighbour's
    report was read as new violence, and the victim's text came ("Keselamatan Anda yang
    utama ... Apakah Anda aman sekarang?"): it is still in danger, the neighbour's text."""
    first = say(None, "sa mo lapor, sa pu tetangga mace dong tiap malam ribut, sa dengar de "
                "pu paitua pukul de sampe de menangis minta tolong, skarang ini sa dengar lagi "
                "ada bunyi pukul2. sa harus buat apa")
    assert first.replies[0].key == "emergency.violence.other"
    still = say(first.snapshot, "masih, dong masih baku pukul")
    assert keys(still)[0] == "emergency.still_ack.other", keys(still)
    assert "still_in_danger" in still.snapshot.flags
    assert "Apakah Anda aman sekarang" not in words(still)


def test_a_category_taken_back_takes_its_reason_off_the_case(service: Service) -> None:
    """Walk R-1: a granddaughter reporting her grandfather of 78 without food chose "4"
    (sexual violence) by mistake, then corrected it to the elderly; staff still read
    "kekerasan seksual diungkapkan" among the case's reasons, a report duty under UU TPKS
    for nothing that happened. The reason an answer taken back had set leaves the case;
    the priority stays (it never falls)."""
    fam = Family(service, "6281100000123")
    for text in ["halo", "1", "3", "1", "2", "4"]:
        fam.say(text)
    with service.db.connect() as conn:
        (before,) = cases.list_cases(conn)
    assert "sexual_violence" in before.reasons
    fam.say("salah pilih kk, bukan itu, harusnya lansia")
    fam.say("iya")
    with service.db.connect() as conn:
        (after,) = cases.list_cases(conn)
    assert "sexual_violence" not in after.reasons, after.reasons
    assert after.category == "care" and after.priority == before.priority


def test_a_question_taken_back_is_asked_as_itself_when_the_rest_answers_nothing() -> None:
    """Walk R-1: after "salah kk, bukan anak ..." the family read "Terima kasih sudah
    bercerita. Mohon jawab dulu pertanyaan ini" over the category list, and took it for the
    question before it ("who needs help?"): "4" became sexual violence. The question taken
    back is asked as itself."""
    snap = answered("6")
    turn = say(snap, "salah kk, bukan ekonomi. sa tra tau mo pilih apa kk")
    assert taken_back(turn) == ["category"]
    assert asked(turn) == CATALOG.text("category", "id"), keys(turn)


def test_a_question_named_as_wrong_is_answered_again_however_long_ago() -> None:
    """ "sa pu umur salah tulis, sa bukan 18 keatas, sa 17" at a later question: the age
    is taken back and "17" read as its answer, so a girl of 17 takes the child's path (the
    trusted-adult question, then the child's texts); so also an age answered many
    questions before, beyond the last three answers named by their words. The answers
    after it stay: the trusted-adult question, then the question she was at."""
    for snap in (answered("2", "6", "1", at="age"),  # at the distrik question
                 answered("2", "2", "1", "wania", "LEWATI", "2", "2", "2", at="age")):
        turn = say(snap, "sa pu umur salah tulis, sa bukan 18 keatas, sa 17")
        assert taken_back(turn) == ["age"], keys(turn)
        assert turn.snapshot.answers["age"] == "under18" and turn.snapshot.state == "child_intro"
        assert turn.snapshot.answers["category"] == snap.answers["category"]
        assert keys(turn) == ["answer_noted", "child_intro"]
        assert say(turn.snapshot, "1").snapshot.state == snap.state
    turn = say(answered("6", "1", "wania"), "distrik salah, sa di kwamki narama")
    assert taken_back(turn) == ["distrik"], keys(turn)
    assert turn.snapshot.answers["distrik"] == "kwamki_narama"
    turn = say(answered("6", "1", "wania", "dekat pasar lama"),
               "bukan wania, sa tinggal di kwamki narama")
    assert turn.snapshot.answers["distrik"] == "kwamki_narama", keys(turn)
    assert turn.snapshot.state == "kampung"  # the kampung given after it: asked again


def test_her_age_taken_back_keeps_what_she_said_and_goes_back_to_her_question() -> None:
    """Walk T (t04): a woman at "has your partner hit you?" writes "sa pu umur salah
    tulis, sa 17": the trusted-adult question is asked, then that question again, never
    the category, who or distrik (kept: a case opened has her distrik); "bukan kwamki narama, sa
    tinggal di wania" there later corrects the distrik (not "Mohon jawab dulu")."""
    snap = answered("2", "1", "1", "kwamki narama", "LEWATI", "2", at="age")
    assert snap.state == "risk_couple_violence" and snap.answers["age"] == "adult"
    turn = say(snap, "sa pu umur salah tulis, sa 17")
    assert keys(turn) == ["answer_noted", "child_intro"]
    turn = say(turn.snapshot, "1")
    assert turn.snapshot.state == "risk_couple_violence", keys(turn)
    assert not {"category", "category.young", "who", "distrik", "kampung"} & set(keys(turn))
    kept = turn.snapshot.answers
    assert (kept["age"], kept["category"], kept["who"], kept["distrik"], kept["injured"]) == \
        ("under18", "couple", "self", "kwamki_narama", "no")
    assert asked(turn).startswith("Apakah pasanganmu pernah memukul")  # now to a girl
    turn = say(turn.snapshot, "bukan kwamki narama, sa tinggal di wania")
    assert taken_back(turn) == ["distrik"], keys(turn)
    assert turn.snapshot.answers["distrik"] == "wania" and turn.snapshot.state == "kampung"
    turn = say(turn.snapshot, "LEWATI")
    assert turn.snapshot.state == "risk_couple_violence", keys(turn)  # the safety answer kept
    assert turn.snapshot.answers["injured"] == "no"
    for text in ("distrik salah, sa di wania", "sa pu distrik salah tulis, sa di wania"):
        turn = say(snap, text)
        assert taken_back(turn) == ["distrik"] and turn.snapshot.answers["distrik"] == "wania"
    for story in ("bukan sa yang salah, de yang mulai", "sa tinggal di wania skarang",
                  "bukan kwamki narama punya orang"):  # no correction of the distrik
        assert taken_back(say(snap, story)) == [], story


def test_a_question_named_alone_is_asked_again_mid_intake_and_ubah_at_rest() -> None:
    """ "sa pu umur salah" mid-intake asks the age again (not a request staff answer in
    3x24 hours while a 17-year-old goes on as an adult); at rest it is UBAH, the right to
    correct, as is a name the intake never asked."""
    turn = say(answered("2", "6", "1", at="age"), "sa pu umur salah")
    assert taken_back(turn) == ["age"] and keys(turn) == ["age"]
    turn = say(answered("2", "6", "1", at="age"), "sa pu nama salah tulis")
    assert taken_back(turn) == [] and keys(turn)[0] == "privacy.correct"
    rest = say(snapshot_at("closing", category="economy", _answered=[["age", "category",
                                                                      False]]),
               "sa pu umur salah")
    assert taken_back(rest) == [] and keys(rest) == ["privacy.correct"]


@pytest.mark.parametrize(("text", "back_to"), [
    ("sa mo ubah sa pu umur, sa salah tulis", "age"),  # walk U-12, as she wrote it
    ("sa mo ubah sa pu umur", "age"),
    ("kaka sa mau ganti distrik", "distrik"),  # (was UBAH: 3x24 hours, mid-intake)
    ("sa mo perbaiki sa pu distrik, sa salah pilih", "distrik"),
    ("I want to change my age", "age"),
])
def test_asking_to_change_a_named_answer_at_the_kampung_goes_back_to_it(
        text: str, back_to: str) -> None:
    """Walk U-12: at "(Boleh dilewati) Nama kampung atau kelurahan?", "sa mo ubah sa pu
    umur, sa salah tulis" was kept as her kampung, and the age never asked again. Asking
    to change an answer names its question: it is asked again, and nothing is kept as a
    place."""
    snap = answered("2", "6", "1", "wania", at="age")
    assert snap.state == "kampung"
    turn = say(snap, text)
    assert taken_back(turn) == [back_to], keys(turn)
    assert turn.snapshot.state == back_to and "kampung" not in turn.snapshot.answers
    meant = say(snap, "sa mau ganti umur jadi 17")  # what was meant after it: her answer
    assert meant.snapshot.answers["age"] == "under18" and meant.snapshot.state == "child_intro"


def test_an_answer_named_wrong_at_rest_with_what_was_meant_is_ubah() -> None:
    """Walk U-12: after the intake, "sa pu distrik salah, sa tinggal di wania" read "Pesan
    Anda sudah kami tambahkan ke kasus", no request to correct; it is UBAH now, as "sa pu
    distrik salah" alone was. A story about a wrong age on a paper is no request."""
    rest = snapshot_at("closing", category="economy", distrik="kwamki_narama")
    for text in ("sa pu distrik salah, sa tinggal di wania", "sa mo ubah sa pu umur, sa 17"):
        turn = say(rest, text)
        assert keys(turn) == ["privacy.correct"], (text, keys(turn))
        assert [e.data for e in turn.events if e.kind == "privacy_request"] == [
            {"right": "correct"}]
    assert "privacy.correct" not in keys(say(rest, "umur sa salah di KK"))


@pytest.mark.parametrize(("at", "given", "correction", "kept"), [
    ("kampung", "dekat pasar lama", "salah ketik", None),
    ("kampung", "dekat pasar lama", "salah ketik kk, sa di kampung nawaripi",
     "sa di kampung nawaripi"),
    ("kampung", "LEWATI", "salah pencet", None),
    ("safe_times", "pagi jam 9", "salah ketik, maksudnya sore jam 4", "sore jam 4"),
    ("codeword", "mangga", "salah ketik kk", None),
    ("other_number", "0812 3456 7890", "salah ketik", None),
])
def test_a_typed_answer_or_a_skip_is_taken_back(at: str, given: str, correction: str,
                                                kept: str | None) -> None:
    """The kampung, a safe time, the codeword, a number or LEWATI just given: "salah
    ketik" asks that question again as itself, or keeps what was meant."""
    snap = answered("6", "1", "wania", at="category") if at == "kampung" else snapshot_at(at)
    snap = say(snap, given).snapshot
    assert snap.state != at
    turn = say(snap, correction)
    assert taken_back(turn) == [at], keys(turn)
    save = FLOW.states[at].save or ""
    assert turn.snapshot.answers.get(save) == kept
    if kept is None:
        assert turn.snapshot.state == at and keys(turn)[-1].startswith(at)


@pytest.mark.parametrize(("text", "category"), [
    ("bukan ekonomi sa salah pilih", None), ("salah pilih kk bukan ekonomi", None),
    ("sa salah pilih bukan ekonomi", None), ("bukan ekonomi salah pencet kk", None),
    ("bukan ekonomi sa salah pilih ini soal pukul istri", "dv"),
    ("salah pilih kategori kk, harusnya anak", "child"),
    ("kategori salah, sa pu masalah deng paitua", "couple"),
])
def test_a_correction_without_a_comma_takes_the_answer_back(text: str,
                                                            category: str | None) -> None:
    """Two beginnings in a row ("bukan ekonomi" and "sa salah pilih") are a correction
    without a comma; what follows them is the answer meant."""
    turn = say(answered("6"), text)
    assert taken_back(turn) == ["category"], keys(turn)
    assert turn.snapshot.answers.get("category") == category


def test_danger_beside_a_named_question_is_answered_first_and_never_taken_back() -> None:
    """ "distrik salah, sa di kwamki narama, de ada pegang parang mau bunuh sa": the
    emergency text first and the alert, the danger words not called a mistake."""
    turn = say(answered("6", "1", "wania"),
               "distrik salah, sa di kwamki narama, de ada pegang parang mau bunuh sa")
    assert keys(turn)[0] in EMERGENCY_KEYS and priority(turn.snapshot) == "P0"
    assert "crisis_disputed" not in turn.snapshot.flags
    turn = say(answered("6"), "bukan ekonomi sa salah pilih paitua pukul sa")
    assert keys(turn)[0] == "crisis.p1.violence" and turn.snapshot.answers["category"] == "dv"
    assert "crisis_disputed" not in turn.snapshot.flags


def test_an_age_taken_back_after_a_skipped_question_goes_on() -> None:
    """A review of the age correction: an answer kept as LEWATI ("skipped") before the
    correction stopped the step with an error when it was given again; it is passed as
    LEWATI, and she is back at the question she was at, in "kamu"."""
    at = snapshot_at("risk_couple_violence", category="couple", who="self",
                     distrik="kwamki_narama", kampung="skipped", injured="skipped",
                     _answered=[["age", "category", False], ["category", "who", False],
                                ["who", "distrik", False], ["distrik", "kampung", False],
                                ["kampung", "risk_injured", True],
                                ["risk_injured", "risk_couple_violence", False]])
    taken = say(at, "sa pu umur salah tulis, sa 17")
    assert taken.snapshot.state == "child_intro", [r.key for r in taken.replies]
    back = say(taken.snapshot, "1")
    assert back.snapshot.state == "risk_couple_violence"
    assert back.replies[-1].key == "risk.couple_violence.young"
