"""What a family's story answers: danger words at "what is the problem?" are the answer, and
a story told earlier is offered there ("iya" takes it), found in a walk-through as families
write ("suami pukul sa" at the category question was asked again, and after a story the
intake asked what the story had said).

The engine is stepped directly (it is pure), and the replies are read as the family reads them.
"""

from __future__ import annotations

import pytest

from flows.actions import OFFER
from flows.types import Turn
from tests.test_danger_protocol import (
    CATALOG,
    EMERGENCY_KEYS,
    ENGINE,
    P1_KEYS,
    say,
    snapshot_at,
    words,
)


def keys(turn: Turn) -> list[str]:
    return [r.key for r in turn.replies]


def asked(turn: Turn) -> str:
    """The question the turn ends on, as the family reads it (its first line)."""
    last = turn.replies[-1]
    return CATALOG.render(last, "id").text.splitlines()[0]


@pytest.mark.parametrize(("text", "category"), [
    ("sa pu suami de pukul sa trus tiap malam kalo de mabuk", "dv"),
    ("bapa tiri suka pegang-pegang sa pu badan kalo mama kerja", "sexual"),
    ("sa rasa mo mati saja, cape hidup", "selfharm"),
    ("anak-anak ditinggal sendiri di rumah su 3 hari tra ada makan", "dv"),
    ("suami pukul sa", "dv"),
])
def test_a_story_at_the_category_question_is_its_answer(text: str, category: str) -> None:
    """The 24-hour numbers for that danger, what was understood said back, the next question."""
    turn = say(snapshot_at("category"), text)
    assert turn.snapshot.answers["category"] == category
    assert P1_KEYS & set(keys(turn)), keys(turn)
    label = CATALOG.text(f"category.{category}", "id")
    assert f"Saya catat: {label}" in words(turn)
    assert turn.snapshot.state == "who"
    assert asked(turn) == CATALOG.text("who", "id")


def test_the_family_own_choice_wins_over_the_kind_of_danger() -> None:
    """"1, suami pukul sa" names choice 1 itself: kept as the family said it."""
    turn = say(snapshot_at("category"), "hubungan suami istri, suami pukul")
    assert turn.snapshot.answers["category"] in ("couple", "dv")
    turn = say(snapshot_at("category"), "kdrt, suami pukul sa")
    assert turn.snapshot.answers["category"] == "dv"


def test_imminent_danger_at_the_category_question_answers_it_after_the_emergency() -> None:
    """"sa mo gantung diri malam ini": the emergency message first; the category is kept, and
    once safe the family goes on to the next question, not the same one again."""
    turn = say(snapshot_at("category"), "sa mo gantung diri malam ini")
    assert keys(turn)[0] in EMERGENCY_KEYS
    assert turn.snapshot.answers["category"] == "selfharm"
    back = say(turn.snapshot, "sa aman skarang")
    assert back.snapshot.state == "who", keys(back)


def test_words_that_name_no_category_ask_again() -> None:
    """"tolong saya" is danger (help now) but names no problem: the question again."""
    turn = say(snapshot_at("category"), "tolong saya")
    assert "category" not in turn.snapshot.answers
    assert turn.snapshot.state in ("category", "emergency_check")


def test_other_choice_questions_are_asked_again() -> None:
    """At "who needs help", danger words answer nothing: help, and the same question."""
    turn = say(snapshot_at("who"), "sa pu suami de pukul sa trus tiap malam kalo de mabuk")
    assert "who" not in turn.snapshot.answers and turn.snapshot.state == "who"
    assert "Saya catat" not in words(turn)


def story_then_category() -> Turn:
    """A story at the danger question (asked again), then on to the category question."""
    snap = snapshot_at("danger", consent=None)
    snap = say(snap, "sa pu suami de pukul sa tiap malam").snapshot
    assert snap.state == "danger"
    for answer in ("3", "1", "2"):  # not now; agree; an adult
        turn = say(snap, answer)
        snap = turn.snapshot
    assert snap.state == "category"
    return turn


def test_a_story_told_earlier_is_offered_at_the_category_question() -> None:
    turn = story_then_category()
    label = CATALOG.text("category.dv", "id")
    assert f"Dari cerita Anda tadi, masalahnya mungkin: {label}" in words(turn)
    assert len(turn.replies[-1].choices) == 11  # every choice still there
    assert say(turn.snapshot, "iya kak").snapshot.answers["category"] == "dv"
    assert say(turn.snapshot, "iyo").snapshot.state == "who"
    assert say(turn.snapshot, "6").snapshot.answers["category"] == "economy"


def test_no_to_the_offer_asks_the_question_as_it_is() -> None:
    turn = story_then_category()
    no = say(turn.snapshot, "bukan")
    assert no.snapshot.state == "category" and "category" not in no.snapshot.answers
    assert asked(no) == CATALOG.text("category", "id")
    assert "Maaf" not in words(no)
    assert say(no.snapshot, "iya").snapshot.state == "category"  # nothing offered now


def test_mistyped_right_after_takes_the_answer_back() -> None:
    """"aduh sa mo mati, sa pu hp rusak" read as self-harm and as the category; "salah ketik"
    at the next question takes that answer back and asks the category again. The words'
    flag stays (never below P1)."""
    turn = say(snapshot_at("category"), "aduh sa mo mati, sa pu hp rusak")
    assert turn.snapshot.answers["category"] == "selfharm"
    undo = say(turn.snapshot, "salah ketik")
    assert undo.snapshot.state == "category" and "category" not in undo.snapshot.answers
    assert "crisis_selfharm" in undo.snapshot.flags
    assert asked(undo) == CATALOG.text("category", "id")  # nothing offered from those words
    assert say(undo.snapshot, "6").snapshot.answers["category"] == "economy"


@pytest.mark.parametrize("typo", ["salah ketik", "eh salah pencet kaka"])
def test_a_choice_typed_by_mistake_is_taken_back(typo: str) -> None:
    """A number typed by mistake stuck (danger "1" marked the case urgent, category "4" made
    it sexual violence), and "salah ketik, maksudnya 3" was taken as the answer to the next
    question (a walk-through). Right after a choice, "salah ketik" takes it back and asks it
    again (what it set off, such as the urgent alert, stays on record)."""
    wrong = say(snapshot_at("category"), "4")
    assert wrong.snapshot.answers["category"] == "sexual"
    undo = say(wrong.snapshot, typo)
    assert undo.snapshot.state == "category" and "category" not in undo.snapshot.answers
    assert any(e.kind == "answer_taken_back" for e in undo.events)
    assert asked(undo) == CATALOG.text("category", "id")
    assert say(undo.snapshot, "1").snapshot.answers["category"] == "couple"
    # after danger words earlier, a mistyped choice is no dispute of those words
    told = say(snapshot_at("who", category="dv"), "suami pukul sa tiap malam")
    wrong = say(told.snapshot, "4")
    undo = say(wrong.snapshot, typo)
    assert "crisis_disputed" not in undo.snapshot.flags and "crisis_violence" in undo.snapshot.flags
    assert "mistyped_ack" not in [r.key for r in undo.replies]


@pytest.mark.parametrize("typo", ["aduh salah ketik, maksudnya 3", "salah, maksudnya 3"])
def test_the_choice_meant_is_taken_with_the_mistake(typo: str) -> None:
    """"salah ketik, maksudnya 3" (walk K: "salah, maksudnya 3" was "Maaf, saya belum
    mengerti", and the category stayed KDRT): the wrong choice taken back and 3 taken."""
    wrong = say(snapshot_at("category"), "4")
    meant = say(wrong.snapshot, typo)
    assert meant.snapshot.answers["category"] == "child"
    assert any(e.kind == "answer_taken_back" for e in meant.events)
    assert meant.snapshot.state != "category"


def test_mistyped_after_danger_words_disputes_them_and_keeps_the_choice_before() -> None:
    """A choice, then a message of danger words, then "salah ketik": it is the words that are
    disputed (recorded; they still count), not the choice two messages back."""
    chose = say(snapshot_at("category"), "2")  # domestic violence
    told = say(chose.snapshot, "saya dipukul suami")
    undo = say(told.snapshot, "salah ketik")
    assert undo.snapshot.answers["category"] == "dv"
    assert "crisis_disputed" in undo.snapshot.flags
    assert "answer_taken_back" not in [e.kind for e in undo.events]


def test_mistyped_later_takes_back_only_the_last_answer() -> None:
    """Once the family has answered the next question, "salah ketik" takes back that answer
    (the last one), never the earlier one read from danger words."""
    turn = say(snapshot_at("category"), "sa rasa mo mati saja, cape hidup")
    later = say(turn.snapshot, "1")  # who: myself
    assert later.snapshot.answers["who"] == "self"
    undo = say(later.snapshot, "salah ketik")
    assert undo.snapshot.answers["category"] == "selfharm"
    assert undo.snapshot.state == "who" and "who" not in undo.snapshot.answers
    again = say(undo.snapshot, "salah ketik")  # nothing more to take back: only recorded
    assert again.snapshot.answers["category"] == "selfharm"
    assert again.snapshot.state == "who"


@pytest.mark.parametrize(("who", "near", "tonight"), [
    ("self", "ada di dekat Anda sekarang", "Apakah Anda punya tempat aman"),
    ("other", "ada di dekat orang yang Anda ceritakan", "Apakah orang yang Anda ceritakan punya"),
    ("child", "ada di dekat orang yang Anda ceritakan", "Apakah orang yang Anda ceritakan punya"),
])
def test_safety_questions_ask_about_the_person_told_about(who: str, near: str,
                                                          tonight: str) -> None:
    """A neighbour writing about a woman next door is not asked whether the one who hurts is
    near *them*, or whether *they* have a safe place tonight (found in a walk-through)."""
    snap = snapshot_at("risk_injured", category="dv", who=who, distrik="wania")
    turn = say(snap, "2")  # nobody injured
    assert turn.snapshot.state == "risk_perpetrator"
    assert near in words(turn)
    for answer in ("2", "2", "2", "2"):  # not near, no weapon, not worse, no children
        turn = say(turn.snapshot, answer)
    assert turn.snapshot.state == "risk_safe_place", turn.snapshot.state
    assert tonight in words(turn)


def test_a_sentence_that_names_one_category_is_offered_not_taken() -> None:
    """"anak sa tra mo sekolah" is no answer as written, but names one choice (children):
    it is offered ("Maksud Anda: ...? Balas IYA"), and taken only on "iya"."""
    turn = say(snapshot_at("category"), "anak sa tra mo sekolah")
    label = CATALOG.text("category.child", "id")
    assert asked(turn) == f"Maksud Anda: {label}? Balas IYA, atau pilih nomor:"
    assert len(turn.replies[-1].choices) == 11 and "Maaf" not in words(turn)
    assert turn.snapshot.state == "category" and "category" not in turn.snapshot.answers
    assert say(turn.snapshot, "iya").snapshot.answers["category"] == "child"
    assert say(turn.snapshot, "5").snapshot.answers["category"] == "teen"
    no = say(turn.snapshot, "bukan kaka")
    assert asked(no) == CATALOG.text("category", "id") and no.snapshot.state == "category"


@pytest.mark.parametrize(("text", "category"), [
    ("my husband drinks too much alcohol", "couple"), ("sa pu suami suka minum sopi", "couple"),
    ("anak sa mabuk lem terus", "teen")])
def test_drink_is_offered_as_the_drinker_s_own_category(text: str, category: str) -> None:
    """A husband's drink is the couple's matter, not "Remaja: ... miras" (walk O: a wife
    asking how her husband could stop drinking was offered the teenagers' category)."""
    turn = say(snapshot_at("category"), text)
    label = CATALOG.text(f"category.{category}", "id")
    assert asked(turn) == f"Maksud Anda: {label}? Balas IYA, atau pilih nomor:", words(turn)


def test_the_greeting_offers_a_call_from_a_sentence() -> None:
    turn = say(snapshot_at("greeting", mode=None), "Saya lebih nyaman ditelepon petugas, Pak.")
    assert asked(turn).startswith("Maksud Anda: " + CATALOG.text("greeting.call", "id"))
    assert say(turn.snapshot, "iya").snapshot.answers["mode"] == "call"


@pytest.mark.parametrize(("state", "text"), [
    ("danger", "nanti malam de pulang mabuk lagi"),
    ("danger", "sa mo tanya dulu"),
    ("category", "anak sa sakit tapi sa tra ada uang"),
])
def test_nothing_is_offered_where_the_words_name_two_things_or_the_danger_question(
        state: str, text: str) -> None:
    """The danger question offers nothing (a guess there could say "not in danger"), and a
    sentence naming two categories is asked again as it is. ("tra skarang tapi nanti malam
    de pulang mabuk lagi" is an answer there: not now, but afraid.)"""
    turn = say(snapshot_at(state), text)
    assert "Maksud Anda" not in words(turn), words(turn)
    assert turn.snapshot.state == state


def test_imminent_words_at_the_danger_question_answer_it() -> None:
    """"sa pu paitua pegang parang di luar ini" at "are you in danger now?": the emergency
    message at once, the answer is "now", and once safe the family is not asked again."""
    snap = snapshot_at("danger", consent=None, danger=None)
    turn = say(snap, "sa pu paitua pegang parang di luar ini")
    assert keys(turn)[0] in EMERGENCY_KEYS
    assert turn.snapshot.answers["danger"] == "now"
    back = say(turn.snapshot, "sa aman skarang")
    assert back.snapshot.state == "consent", keys(back)


def test_danger_words_that_are_not_now_leave_the_danger_question_open() -> None:
    """"suami pukul sa tiap malam" is danger, but says nothing of now: asked again."""
    turn = say(snapshot_at("danger", consent=None, danger=None), "suami pukul sa tiap malam")
    assert turn.snapshot.answers.get("danger") is None and turn.snapshot.state == "danger"


def test_an_injury_told_at_the_injury_question_answers_it() -> None:
    turn = say(snapshot_at("risk_injured", category="dv", who="self"),
               "ya de pu kepala berdarah")
    assert turn.snapshot.answers["injured"] == "yes"
    assert keys(turn)[0] in EMERGENCY_KEYS


@pytest.mark.parametrize("text", ["ada bekas luka di tangan tapi su sembuh",
                                  "dulu de pukul sa sampe luka, skarang su sembuh",
                                  "lebam2 su hilang"])
def test_a_healed_injury_at_the_injury_question_is_no(text: str) -> None:
    """"Is anyone hurt and in need of medical help?" answered with an injury that has healed:
    no, said back ("Saya catat"), with the injury's 24-hour numbers and no emergency. Before,
    the injury words answered "yes" and brought the emergency message (a walk-through)."""
    turn = say(snapshot_at("risk_injured", category="dv", who="self"), text)
    assert turn.snapshot.answers["injured"] == "no"
    assert not EMERGENCY_KEYS & set(keys(turn)) and "answer_noted" in keys(turn)
    assert "IGD RSUD Mimika" in words(turn)  # the numbers still come


def test_now_safe_at_the_danger_question_is_no() -> None:
    """"tra ibu, skarang aman" was read as danger now ("sekarang") and asked again (a
    walk-through): "now safe" is no."""
    turn = say(snapshot_at("danger", consent=None, danger=None), "tra ibu, skarang aman")
    assert turn.snapshot.answers["danger"] == "no"


def test_not_now_but_later_is_afraid() -> None:
    turn = say(snapshot_at("danger", consent=None, danger=None),
               "tra skarang tapi nanti malam de pulang mabuk lagi")
    assert turn.snapshot.answers["danger"] == "afraid"


def test_a_negated_choice_is_not_offered() -> None:
    """"jangan ke rumah!!" at "how should staff contact you?" is no home visit."""
    turn = say(snapshot_at("contact_pref", category="dv", who="self"), "jangan ke rumah!!")
    assert "Maksud Anda" not in words(turn)
    # "he is not at home" is no home visit either (walk O: offered one)
    for text in ("iya aman, karna de tra di rumah", "aman, de tra ada di rumah"):
        turn = say(snapshot_at("contact_pref", category="dv", who="self"), text)
        assert "Maksud Anda" not in words(turn), text
    turn = say(snapshot_at("contact_pref", category="dv", who="self"), "ke rumah sa saja")
    assert "Maksud Anda" in words(turn) or turn.snapshot.answers.get("contact") == "visit"


@pytest.mark.parametrize(("text", "who"), [
    ("mama ade", "family"),  # an aunt in Papuan Malay
    ("sa pu bapa tua", None),  # an uncle, or an old father: two writers read it each way
    ("sa pu bapa su tua", "elder"), ("sa pu mama", "elder"),
])
def test_papuan_kinship_words_at_who_needs_help(text: str, who: str | None) -> None:
    turn = say(snapshot_at("who", category="dv"), text)
    assert turn.snapshot.answers.get("who") == who


@pytest.mark.parametrize(("state", "text"), [
    ("who", "sa deng anak2 di rumah mama"), ("risk_safe_place", "sa di rumah tanta skarang"),
])
def test_the_model_does_not_read_facts(state: str, text: str) -> None:
    """Who needs help, an age, a place (`facts` in intake.yaml): the model read "sa di rumah
    tanta skarang" as help now (0.94) and "sa deng sa pu anak2" as hurting others (0.90; no
    more since a father's words joined the corpus; nor, since walk O's second wife joined it,
    "sa deng anak2 di rumah mama" anywhere). The model is still asked at the greeting, where
    stories come: it reads "sa di rumah tanta skarang" there."""
    snap = snapshot_at(state, category="dv", who="self")
    assert not [e for e in say(snap, text).events if e.kind == "crisis_words"]
    greeting = say(snapshot_at("greeting", mode=None), "sa di rumah tanta skarang")
    assert [e.data.get("model") for e in greeting.events if e.kind == "crisis_words"] != []


@pytest.mark.parametrize(("state", "text", "value"), [
    ("risk_perpetrator", "iya de di ruang tamu", "yes"),
    ("risk_safe_chat", "iya aman kk lanjut", "yes"),
    ("risk_perpetrator", "ya ampun sa takut skali", None),  # an exclamation, not a yes
    ("risk_injured", "tidak bisa jalan", None),  # "tidak" may say no to what follows
    ("risk_perpetrator", "iya tapi de su pigi", None),  # yes and no
])
def test_a_yes_then_words_that_name_nothing(state: str, text: str, value: str | None) -> None:
    turn = say(snapshot_at(state, category="dv", who="self"), text)
    assert turn.snapshot.answers.get(FLOW_SAVE[state]) == value


FLOW_SAVE = {"risk_perpetrator": "perpetrator_near", "risk_safe_chat": "safe_to_chat",
             "risk_injured": "injured"}


def test_who_needs_help_offers_what_a_sentence_names() -> None:
    turn = say(snapshot_at("who", category="dv"), "tetangga sebelah")
    label = CATALOG.text("who.other", "id")
    assert asked(turn) == f"Maksud Anda: {label}? Balas IYA, atau pilih nomor:"
    assert say(turn.snapshot, "iyo").snapshot.answers["who"] == "other"


@pytest.mark.parametrize(("state", "text", "value"), [
    ("consent", "setuju kaka", "agree"), ("consent", "2 kk", "agree_refer"),
    ("risk_injured", "tidak bapa", "no"), ("who", "kaka", "family"),  # "kaka" is the answer
    ("who", "sa pu kaka", "family"),
])
def test_forms_of_address_are_read_past(state: str, text: str, value: str) -> None:
    snap = snapshot_at(state, category="dv", **({"consent": None} if state == "consent" else {}))
    turn = say(snap, text)
    key = {"consent": "consent", "risk_injured": "injured", "who": "who"}[state]
    assert turn.snapshot.answers.get(key) == value


@pytest.mark.parametrize(("text", "value"), [
    ("sa takut", "no"),  # nobody is contacted
    ("ada tapi sa takut de marah", None),  # asked again
    ("ada sa pu tanta", "yes"), ("kaka perempuan", "yes"),
])
def test_a_child_afraid_to_tell_anyone(text: str, value: str | None) -> None:
    """At "is there an adult you trust...?", a child's fear is never read as yes."""
    turn = say(snapshot_at("child_intro", age="under18"), text)
    assert turn.snapshot.answers.get("trusted_adult") == value


@pytest.mark.parametrize(("state", "text", "key", "value"), [
    ("emergency_check", "sa tra tau", "still_in_danger_answer", "danger"),  # not sure: not safe
    ("emergency_check", "skarang de su tidur, sa aman", "still_in_danger_answer", "safe"),
    ("age", "Sudah saya bilang, 16 tahun.", "age", "under18"),
    ("risk_children", "ada anak 2 masih kecil", "children_at_risk", None),  # "there are"
    ("risk_injured", "muka bengkak tra perlu ke rumah sakit", "injured", None),
    ("danger", "tra ada bahaya, de pegang parang di luar", "danger", None),
    ("child_intro", "ada sa pu tanta di SP5", "trusted_adult", "yes"),  # the next walk-through
    ("danger", "skarang aman tapi nanti malam sa takut", "danger", "afraid"),
    ("danger", "iya, tapi sa takut", "danger", None),  # "yes" and afraid: asked again
    ("emergency_check", "sa su aman di rumah tetangga", "still_in_danger_answer", "safe"),
])
def test_what_a_walk_through_as_families_found(state: str, text: str, key: str,
                                               value: str | None) -> None:
    """Found by a helper playing 13 families (2026-12-06): a "don't know" at "are you safe
    now?" was asked again, an answer after a comma was missed, "ada anak 2 masih kecil" was
    saved as children threatened, "tra perlu ke rumah sakit" as needing medical help."""
    snap = snapshot_at(state, category="dv", who="self", age=None, danger=None)
    assert say(snap, text).snapshot.answers.get(key) == value


def walk(first: str, *answers: str) -> Turn:
    """A family that starts with `first`, then answers in turn."""
    turn = say(None, first)
    for answer in answers:
        turn = say(turn.snapshot, answer)
    return turn


PASTOR = ("selamat malam, sa pendeta di kuala kencana, sa mo bantu ibu jemaat, de pu suami su "
          "tinggalkan de deng anak 4")


def test_a_place_told_in_the_first_message_is_offered_at_the_distrik_question() -> None:
    """Found in a walk-through: the pastor's "Kuala Kencana" was asked for again."""
    turn = walk(PASTOR, "1", "3", "1", "2", "6", "5")  # chat, no danger, agree, adult...
    assert turn.snapshot.state == "distrik"
    said = words(turn)
    assert said.startswith(CATALOG.text("distrik", "id"))
    assert "Dari cerita Anda tadi: Kuala Kencana? Balas IYA" in said
    assert say(turn.snapshot, "iya").snapshot.answers["distrik"] == "kuala_kencana"
    assert say(turn.snapshot, "1").snapshot.answers["distrik"] == "mimika_baru"


@pytest.mark.parametrize("first", [
    "saya dipukul suami, tidak tahu harus bagaimana",  # "tidak tahu" is no place
    "sa pu paitua pukul sa tiap malam",  # the husband is named; who needs help is not offered
])
def test_a_story_offers_nothing_it_did_not_say(first: str) -> None:
    turn = walk(first, "1", "3", "1", "2", "2")
    assert turn.snapshot.state == "who" and "Dari cerita" not in words(turn)
    turn = say(turn.snapshot, "1")
    assert turn.snapshot.state == "distrik" and "Dari cerita" not in words(turn)


def test_saying_no_to_a_story_offer_leaves_the_snapshot_as_it_was() -> None:
    """The engine is pure: "bukan" to "Dari cerita Anda tadi: Kuala Kencana?" builds a new
    conversation and leaves the one it was given untouched (the same step twice, the same
    turn)."""
    at = walk(PASTOR, "1", "3", "1", "2", "6", "5").snapshot
    kept = repr(at)
    first, second = say(at, "bukan"), say(at, "bukan")
    assert first == second and repr(at) == kept
    assert "Dari cerita" not in words(first) and first.snapshot.state == "distrik"


def test_a_place_outside_mimika_in_the_story_is_not_offered_for_the_distrik() -> None:
    """A daughter in Jayapura told of her mother alone in SP3, and a sister in Nabire of a girl
    held in Timika: both were offered "Di luar Mimika?" at the distrik question, where a
    hurried "iya" sends the case out of Mimika (a walk-through). Where the writer is says
    nothing of where the one who needs help is: the question is asked as it is."""
    turn = say(snapshot_at("greeting", mode=None),
               "Permisi, sa anak perempuan dari mama yg tinggal di SP3. Sa kerja di Jayapura, "
               "mama tinggal sendiri")
    from_story = turn.snapshot.answers.get("_story") or {}
    assert from_story.get("distrik") != "outside", from_story


def test_an_age_said_with_who_needs_help_is_offered_at_the_childs_age() -> None:
    """"sa pu ade, 16 tahun" (a walk-through: a sister of 16 was "another family member", and
    her age was asked again): a child, and 13-17 offered at the age question; "iya" takes
    it. A kinship word with no age asks the age plainly."""
    who = say(snapshot_at("who", category="dv"), "sa pu ade, 16 tahun")
    assert who.snapshot.answers["who"] == "child" and who.snapshot.state == "child_age"
    assert "Dari cerita Anda tadi: 13–17 tahun?" in words(who)
    assert say(who.snapshot, "iya").snapshot.answers["child_age"] == "13-17"
    plain = say(snapshot_at("who", category="dv"), "sa pu anak")
    assert "Dari cerita" not in words(plain) and plain.snapshot.state == "child_age"
    for short in ("de 9 tahun", "de umur 9", "anak sa 9 thn"):  # walk T (T-13): asked plainly
        who = say(snapshot_at("who", category="dv"), short)
        assert "Dari cerita Anda tadi: 6–12 tahun?" in words(who), short
        assert say(who.snapshot, "iya").snapshot.answers["child_age"] == "6-12"
    for none in ("1 sa sendiri", "sa sendiri"):  # no age, no place: nothing offered later
        assert "_story" not in say(snapshot_at("who", category="dv"), none).snapshot.answers


def test_a_couples_conflict_is_asked_about_violence_before_the_person_who_hurts() -> None:
    """A mother whose husband took the children to Nabire, with no violence, was asked
    whether "the person who hurts" was near them; her honest "1" made the case P0 (a
    walk-through). A couple's conflict is asked first whether there is violence; "tidak"
    leads on without those questions, "iya" to them. Violence told in words, in any
    category, leads to them at once."""
    gate = say(snapshot_at("risk_injured", category="couple", who="child"), "2")
    assert gate.snapshot.state == "risk_couple_violence"
    assert "Apakah pernah ada kekerasan" in words(gate)
    no = say(gate.snapshot, "tidak")
    assert no.snapshot.state != "risk_perpetrator" and "orang yang menyakiti" not in words(no)
    assert say(gate.snapshot, "iya").snapshot.state == "risk_perpetrator"
    told = say(snapshot_at("risk_injured", category="premarital", who="self",
                           crisis_violence="yes"), "2")
    assert told.snapshot.state == "risk_perpetrator"


@pytest.mark.parametrize("text", ["di dekat pasar lama", "sa tinggal di sp2 dekat gereja",
                                  "belakang kantor distrik", "near the harbour"])
def test_a_place_told_in_words_is_kept_for_staff_not_asked_again(text: str) -> None:
    """Walk O: "di dekat pasar lama" at the distrik question brought the list of 21 distrik
    again (and again). A place told in words that names no distrik is kept as the kampung,
    the distrik unknown for staff to place, said back, and the kampung is not asked."""
    turn = say(snapshot_at("distrik", category="economy", who="self"), text)
    assert turn.snapshot.answers["distrik"] == "unknown"
    assert turn.snapshot.answers["kampung"] == text
    assert f"tempatnya saya catat: {text}" in words(turn)
    assert turn.snapshot.state != "kampung" and "Nama kampung" not in words(turn)


@pytest.mark.parametrize("text", ["iya", "ok kk", "sa takut kk", "tunggu", "bentar e",
                                  "kenapa tanya itu?"])
def test_words_that_tell_no_place_are_not_kept_as_one(text: str) -> None:
    turn = say(snapshot_at("distrik", category="economy", who="self"), text)
    assert "kampung" not in turn.snapshot.answers, words(turn)


def test_one_name_is_a_place_once_the_list_was_shown() -> None:
    """"nawaripi" alone first is asked again with the list; written again, it is the place
    ("tunggu" alone is no place the first time)."""
    first = say(snapshot_at("distrik", category="economy", who="self"), "nawaripi")
    assert "kampung" not in first.snapshot.answers and first.snapshot.state == "distrik"
    again = say(first.snapshot, "nawaripi")
    assert again.snapshot.answers["kampung"] == "nawaripi"
    assert again.snapshot.answers["distrik"] == "unknown"


@pytest.mark.parametrize("word", ["sore", "chat", "malam", "LEWATI", "lanjut"])
def test_a_word_the_bot_knows_is_no_place_after_the_list(word: str) -> None:
    """Walk S: after one miss at the distrik question, "sore", "chat", "malam" and even
    "LEWATI" were kept as the place ("Terima kasih, tempatnya saya catat: LEWATI") and the
    distrik became unknown. A keyword, a time or a word of a choice is no place name."""
    first = say(snapshot_at("distrik", category="economy", who="self"), "nawaripi")
    again = say(first.snapshot, word)
    assert "kampung" not in again.snapshot.answers, words(again)


@pytest.mark.parametrize(("text", "place"), [
    ("sa tra tau distrik apa, sa tinggal dekat pasar lama", "sa tinggal dekat pasar lama"),
    ("tra tau kk. di jalan cenderawasih", "di jalan cenderawasih"),
])
def test_a_place_beside_not_knowing_the_distrik_is_kept(text: str, place: str) -> None:
    """Walk R-9: "sa tra tau distrik apa, dekat pasar lama" was offered "Tidak tahu", and
    the place was lost. The place told is kept for staff, the distrik unknown."""
    turn = say(snapshot_at("distrik", category="economy", who="self"), text)
    assert turn.snapshot.answers["distrik"] == "unknown"
    assert turn.snapshot.answers["kampung"] == place, words(turn)


def test_no_to_the_distrik_offered_asks_the_question_not_unknown() -> None:
    """Walk S: "tidak" to "Dari cerita Anda tadi: Kwamki Narama? Balas IYA" was kept as
    "Tidak tahu / tidak mau menjawab", and the Kwamki she had named was lost. A bare no
    refuses the offer: the question is asked as it is; "tidak tahu" is still unknown."""
    offered = snapshot_at("distrik", category="dv", who="self",
                          _story={"distrik": "kwamki_narama"})
    turn = say(offered, "tidak")
    assert "distrik" not in turn.snapshot.answers and turn.snapshot.state == "distrik"
    assert "Di distrik mana" in words(turn) and "Dari cerita" not in words(turn)
    assert say(offered, "sa tra tau").snapshot.answers.get("distrik") == "unknown"


def test_writing_again_after_berhenti_says_why_it_begins_again() -> None:
    """Walk Q-18: a woman typed BERHENTI when her husband came in, then "kk maaf tadi sa pu
    suami datang. sa mo lanjut": the whole welcome again, unexplained. She reads why it
    begins again (consent was withdrawn), that a case stays with staff where one was made
    (walk S: not where none was), and NANTI DULU for next time; then the welcome."""
    stopped = say(snapshot_at("who", category="dv"), "BERHENTI")
    assert stopped.snapshot.state == "stopped"
    back = say(stopped.snapshot, "kk maaf tadi sa pu suami datang. sa mo lanjut")
    assert [r.key for r in back.replies][:2] == ["stopped.back.no_case", "greeting"], \
        back.replies
    assert "NANTI DULU" in words(back)


@pytest.mark.parametrize(("text", "who"), [
    ("om de ada tidur di kamar sebelah", "self"),
    ("de ada tidur", "self"),
    ("io de pu laki ada di rumah", "other"),
    ("bapa tiri de ada tidur", "self"),
    ("sa pu paitua masih di rumah", "self"),
    ("om yan ada di dapur", "self"),
    ("ada di sini", "self"),
])
def test_the_one_who_hurts_told_there_is_near(text: str, who: str) -> None:
    """A tester: a girl of 12 whose uncle abuses her wrote "om de ada tidur di kamar
    sebelah" at "is the person who hurts you near you now?" and was asked again; the
    emergency text came only after she typed "1". Asleep, in the next room, at home, with a
    kinship word or a name before: yes, and the emergency text at once."""
    snap = snapshot_at("risk_perpetrator", category="sexual", who=who, age="under18")
    turn = say(snap, text)
    assert turn.snapshot.answers["perpetrator_near"] == "yes", keys(turn)
    assert keys(turn)[0] in EMERGENCY_KEYS, keys(turn)
    assert "belum mengerti" not in words(turn) and "Mohon jawab dulu" not in words(turn)


@pytest.mark.parametrize("text", ["de su pigi", "de kerja di tembagapura", "de tra ada"])
def test_the_one_who_hurts_told_away_is_not_near(text: str) -> None:
    """Gone, at work at the mine, not there: no, and the next question."""
    turn = say(snapshot_at("risk_perpetrator", category="dv", who="self"), text)
    assert turn.snapshot.answers["perpetrator_near"] == "no", keys(turn)
    assert turn.snapshot.state == "risk_weapon"


@pytest.mark.parametrize("text", ["anak2 ada tidur", "de tra kerja",
                                  "de pu keluarga ada di sana"])
def test_others_there_or_no_work_say_nothing_of_the_one_who_hurts(text: str) -> None:
    """The children asleep, his relatives here, "he has no work": asked again, not yes."""
    turn = say(snapshot_at("risk_perpetrator", category="dv", who="self"), text)
    assert "perpetrator_near" not in turn.snapshot.answers, keys(turn)
    assert turn.snapshot.state == "risk_perpetrator"


def test_asleep_at_the_child_question_is_still_no() -> None:
    """"anak2 ada tidur" at "is a child being hurt now?" stays "no" (the same words about
    the children, not the one who hurts)."""
    turn = say(snapshot_at("risk_child_now", category="child", who="child"), "anak2 ada tidur")
    assert turn.snapshot.answers["child_now"] == "no"


def test_the_writer_with_her_children_needs_the_help_herself() -> None:
    """A tester: "sa sendiri deng anak2" at "who needs help?" was asked again ("sa deng mama"
    was understood): herself, her children asked about on her own path. "anak2" alone is
    the children; "sa sendiri, anak2 aman" (two things said) is asked again."""
    turn = say(snapshot_at("who", category="dv"), "sa sendiri deng anak2")
    assert turn.snapshot.answers["who"] == "self"
    assert turn.snapshot.state == "distrik" and "belum mengerti" not in words(turn)
    assert say(snapshot_at("who", category="dv"), "anak2").snapshot.answers["who"] == "child"
    assert "who" not in say(snapshot_at("who", category="dv"),
                            "sa sendiri, anak2 aman").snapshot.answers


@pytest.mark.parametrize("state", ["risk_safe_chat", "contact_pref"])
def test_a_time_of_day_alone_at_a_choice_question_is_asked_again_not_greeted(state: str) -> None:
    """A tester: "sore" at "is it safe to keep chatting?" and at how to be contacted got
    "Halo, terima kasih sudah menulis": a time given as an answer, asked again. "selamat
    sore kk" is still a greeting there; at the safe-times question "sore" is the time."""
    snap = snapshot_at(state, category="dv", who="self")
    turn = say(snap, "sore")
    assert "hello" not in keys(turn) and "belum mengerti" in words(turn), keys(turn)
    assert turn.snapshot.state == state
    assert "hello" in keys(say(snap, "selamat sore kk"))
    timed = say(snapshot_at("safe_times", category="dv", who="self"), "sore")
    assert timed.snapshot.answers["safe_times"] == "sore"


@pytest.mark.parametrize("state", ["closing", "done", "refused"])
def test_thanks_with_kk_at_rest_is_acknowledged(state: str) -> None:
    """A tester: "makasih kk" at rest after the intake had "Ketik ULANG untuk mulai
    konsultasi": a thank-you, answered as one."""
    turn = say(snapshot_at(state, category="dv", who="self"), "makasih kk")
    assert keys(turn) == ["thanks"], keys(turn)


@pytest.mark.parametrize("text", ["nanti dulu, anak bangun", "tunggu kk sa pu bayi nangis"])
def test_a_pause_with_a_reason_pauses(text: str) -> None:
    """A tester: "nanti dulu, anak bangun" at the category question was offered "Anak:
    pengasuhan" ("nanti dulu" alone paused): a child who woke or cries, a pause. A story of
    a child who wakes at night is no pause."""
    turn = say(snapshot_at("category"), text)
    assert keys(turn) == ["later"], keys(turn)
    story = say(snapshot_at("category"), "anak bangun malam2 menangis")
    assert "later" not in keys(story)


def to_age_question(first: str) -> Turn:
    """A first message, then "1" (chat), "3" (no danger now), "setuju": the age question."""
    snap = None
    for text in (first, "1", "3", "setuju"):
        turn = say(snap, text)
        snap = turn.snapshot
    assert snap is not None and snap.state == "age", snap
    return turn


@pytest.mark.parametrize("first", ["sa laki2 umur 35, sa pukul sa pu maitua, sa mau berubah",
                                   "nene umur 70 thn",
                                   "nene umur 70 thn, sa pu cucu tra mo sekolah"])
def test_an_adult_s_own_age_told_first_is_offered_at_the_age_question(first: str) -> None:
    """A tester: "sa laki2 umur 35", "nene umur 70 thn" in the first message, and the age
    question came with its three choices only (a child's age told is offered). Offered as
    the child's is, and "iya" takes it."""
    turn = to_age_question(first)
    assert "Dari cerita Anda tadi: 18 tahun atau lebih? Balas IYA" in words(turn)
    assert say(turn.snapshot, "iya").snapshot.answers["age"] == "adult"


@pytest.mark.parametrize("first", ["sa pu anak umur 12 de dipukul bapa",
                                   "sa pu nene umur 70 thn de sakit",
                                   "mama umur 52 sa tra tau mo bilang apa"])
def test_another_s_age_told_first_is_not_offered_as_the_writer_s(first: str) -> None:
    """"sa pu anak umur 12" is the child's age, "sa pu nene" the grandmother's: the age
    question as it is."""
    turn = to_age_question(first)
    assert "Dari cerita Anda tadi" not in words(turn), words(turn)


def test_no_safe_place_told_before_is_not_asked_again() -> None:
    """Walk Q-14: "tra ada tempat aman" brought the no-shelter notice; two questions later
    came "Apakah Anda punya tempat aman untuk malam ini?". Told before (the flag), the
    question is answered "no" and the next one asked."""
    told = say(snapshot_at("risk_children", category="dv", who="self"),
               "tidak, tapi sa tra punya tempat aman malam ini")
    assert "no_shelter" in told.snapshot.flags, [r.key for r in told.replies]
    assert told.snapshot.answers.get("safe_place") == "no"
    assert "tempat aman untuk malam ini" not in words(told)
    assert told.snapshot.state != "risk_safe_place"


@pytest.mark.parametrize(("category", "told", "text"), [
    ("harms_others", "harms_others", "kadang sa pukul sa pu anak laki2 umur 9 kalo sa marah"),
    ("dv", "violence", "de juga pukul anak2"),
])
def test_a_child_hurt_told_at_the_children_question_answers_it(category: str, told: str,
                                                                text: str) -> None:
    """Walk Q-14: a father who hurts his family answered "are children threatened?" with
    "kadang sa pukul sa pu anak laki2 umur 9 kalo sa marah": his text, then the same
    question. A child hurt, told there, is its yes."""
    snap = snapshot_at("risk_children", category=category, who="self", _told=told,
                       _focus=told)
    turn = say(snap, text)
    assert turn.snapshot.answers.get("children_at_risk") == "yes", [r.key for r in turn.replies]
    assert turn.snapshot.state != "risk_children"


def test_a_story_told_first_is_thanked_in_the_welcome() -> None:
    """Walk Q-5: a grandmother of 70 told her whole story first (alone, cannot walk, her
    children gone) and read the welcome as if she had said "halo". A story told first is
    thanked before the welcome, which still says who writes and that it is a bot; a
    greeting or a question is not thanked as a story."""
    story = say(None, "slamat siang. sa ini nene umur 70 thn. sa tinggal sendiri di kampung "
                "nawaripi. sa pu anak2 su tra urus sa. sa pu kaki sakit tra bisa jalan jauh")
    assert story.replies[0].key == "greeting.told_story", story.replies
    said = words(story)
    assert said.startswith("Terima kasih sudah bercerita") and "bukan manusia" in said
    for first in ("halo kk", "selamat pagi, kantor lk3 di mana ya? buka jam berapa?"):
        assert "Terima kasih sudah bercerita" not in words(say(None, first)), first


def category_after(story: str, young: bool = False) -> Turn:
    """A family's first message, then chat, no danger now, consent and the age band: the
    category question as they read it."""
    turn = say(None, story)
    for answer in ("1", "tidak", "1", "1" if young else "2"):
        turn = say(turn.snapshot, answer)
    if young:  # the trusted-adult question first
        turn = say(turn.snapshot, "tidak")
    assert turn.snapshot.state == "category", keys(turn)
    return turn


@pytest.mark.parametrize(("story", "young", "category", "reason"), [
    ("hai kak, aku 13 tahun. aku sering diejek teman2 krn aku gemuk, mereka ambil uang "
     "jajanku. aku malas sekolah", True, "child", "child_at_risk"),
    ("suami sering marah2 kalau pulang kerja", False, "couple", "couple_conflict"),
    ("My husband controls all the money, shouts at me every night and says I cannot leave "
     "the house without him", False, "dv", "domestic_violence"),
    ("sa pu anak laki2 16 tahun su mulai minum2 deng teman2, kadang hisap lem aibon juga. "
     "sa bingung", False, "teen", "teen_trouble"),
    ("sa pu suami ada perempuan lain, uang belanja juga tra kasih", False, "couple",
     "couple_conflict"),
    ("sa su tra kerja lagi, anak2 pu uang sekolah belum bayar", False, "economy",
     "economic_crisis"),
])
def test_a_story_offers_the_category_it_tells(story: str, young: bool, category: str,
                                              reason: str) -> None:
    """A tester playing families: a bullied girl of 13 was offered the economy for "uang
    jajan" and staff read "krisis ekonomi keluarga"; "pulang kerja" made a husband's anger
    the economy; a husband who controls the money and keeps his wife in was offered the
    couple; a teenager on glue ("sa bingung"), an affair ("perempuan lain") and school fees
    after the job went were offered nothing. The category the story tells is offered, "iya"
    takes it, and staff read its reason."""
    turn = category_after(story, young)
    label = CATALOG.text(f"category.{category}", "id")
    assert f"masalahnya mungkin: {label}" in words(turn), words(turn)
    yes = say(turn.snapshot, "iya")
    assert yes.snapshot.answers["category"] == category
    facts = {**yes.snapshot.answers, **{f: "yes" for f in yes.snapshot.flags}}
    assert reason in ENGINE.bundle.triage.assess(facts).reasons


@pytest.mark.parametrize(("story", "category"), [
    ("sa pu suami kena phk, sa tra ada uang untuk makan", "economy"),
    ("sa pu suami pukul sa trus ambil semua uang", "dv"),
    ("sa pu anak tra mo sekolah lagi, tiap hari main di pasar", "child"),
    ("sa pu paitua kalo mabuk de marah2 terus", "couple"),
])
def test_a_story_offer_that_was_right_stays(story: str, category: str) -> None:
    """Money, work and "not sure" words are weak, not gone: the words that told the problem
    before still tell it."""
    turn = category_after(story)
    assert f"masalahnya mungkin: {CATALOG.text(f'category.{category}', 'id')}" in words(turn)


@pytest.mark.parametrize("text", ["uang", "kerja", "lain", "tra ada uang"])
def test_a_weak_word_alone_still_answers_or_offers(text: str) -> None:
    """A money, work or "not sure" word alone at the category question is read as before."""
    turn = say(snapshot_at("category"), text)
    picked = turn.snapshot.answers.get("category") or \
        (turn.snapshot.answers.get(OFFER) or [None, None])[1]
    assert picked in ("economy", "other"), keys(turn)


SAFETY_INTRO = "Saya akan tanya beberapa hal tentang keselamatan"


@pytest.mark.parametrize(("category", "mode", "then", "priority"), [
    ("economy", "chat", "contact_pref", "P2"),  # school fees, PKH / bansos
    ("premarital", "chat", "contact_pref", "P3"),
    ("premarital", "call", "call_number", "P2"),
])
def test_money_and_marriage_questions_go_past_the_safety_questions(
        category: str, mode: str, then: str, priority: str) -> None:
    """A tester: "Saya akan tanya beberapa hal tentang keselamatan... Apakah ada yang
    terluka?" was asked of a couple about to marry and of a mother asking about school fees
    and PKH. With nothing at risk these categories go from the place to how to be reached;
    staff see no safety answer, and the priority of the category."""
    snap = snapshot_at("kampung", category=category, who="self", distrik="wania", mode=mode)
    turn = say(snap, "LEWATI")
    assert turn.snapshot.state == then, keys(turn)
    assert SAFETY_INTRO not in words(turn) and "terluka" not in words(turn)
    assert "injured" not in turn.snapshot.answers
    facts = {**turn.snapshot.answers, **{f: "yes" for f in turn.snapshot.flags}}
    assert ENGINE.bundle.triage.assess(facts).priority == priority
    kept = say(snapshot_at("distrik", category=category, who="self", mode=mode),
               "di dekat pasar lama")
    assert kept.snapshot.state == then, keys(kept)  # the place told in words: the same


@pytest.mark.parametrize(("category", "answers"), [
    ("economy", {"danger": "afraid"}),  # "not now, but I am afraid"
    ("premarital", {"crisis_violence": "yes"}),  # danger words earlier
    ("economy", {"no_food": "yes"}),  # children without food (a notice)
    ("economy", {"age": "under18"}),  # a teenager writing: screened for self-harm
    ("care", {}),  # an old or sick person: is anyone hurt?
    ("teen", {}),
    ("other", {}),
])
def test_danger_keeps_any_category_on_the_safety_questions(category: str,
                                                           answers: dict[str, str]) -> None:
    """Whatever the category, a family with a danger answer, danger words, or a P1 reason
    of any kind (the triage decides) is asked the safety questions; so are the other
    categories."""
    snap = snapshot_at("kampung", category=category, who="self", distrik="wania", **answers)
    turn = say(snap, "LEWATI")
    assert turn.snapshot.state == "risk_injured", keys(turn)
    assert SAFETY_INTRO in words(turn)


def test_danger_words_in_the_story_keep_money_trouble_on_the_safety_questions() -> None:
    """A story of blows, then the economy chosen by its number: the safety questions."""
    turn = category_after("sa pu suami pukul sa tiap kali sa minta uang beli beras")
    for answer in ("6", "1", "1", "LEWATI"):  # economy, myself, Mimika Baru, no kampung
        turn = say(turn.snapshot, answer)
    assert turn.snapshot.answers["category"] == "economy"
    assert turn.snapshot.state == "risk_injured", keys(turn)


GRANDMOTHER = ("slamat siang. sa ini nene umur 70 thn. sa tinggal sendiri di kampung nawaripi. "
               "sa pu anak2 su tra urus sa. sa pu kaki sakit tra bisa jalan jauh. beras juga "
               "su habis")
NOT_UNDERSTOOD = ["sa tra mengerti ini nak", "ini apa nak", "sa tra paham nak",
                  "aduh nak sa pu mata kabur", "sa tra mengerti"]


def assessed(turn: Turn) -> tuple[str, tuple[str, ...]]:
    facts = {**turn.snapshot.answers, **{f: "yes" for f in turn.snapshot.flags}}
    verdict = ENGINE.bundle.triage.assess(facts)
    return verdict.priority, verdict.reasons


def test_a_grandmother_alone_without_rice_is_heard_and_urgent() -> None:
    """A tester: a grandmother of 70, alone, who cannot walk far and whose rice is gone
    ("beras juga su habis") got no word for it; she answered the bot's own "Lansia...?
    Betul?" with "sa ini tua su tra kuat", was not understood three times, the category was
    dropped and staff read P3 "konsultasi atau informasi". Now the notice, her words taken
    as the offer, and P1 for staff."""
    first = say(None, GRANDMOTHER)
    assert [r.key for r in first.replies] == ["notice.elder_no_food", "greeting"]
    turn = category_after(GRANDMOTHER)
    label = CATALOG.text("category.care", "id")
    assert f"masalahnya mungkin: {label}" in words(turn)
    old = say(turn.snapshot, "sa ini tua su tra kuat")
    assert old.snapshot.answers["category"] == "care" and old.snapshot.state == "who"
    priority, reasons = assessed(old)
    assert priority == "P1" and {"elder_no_food", "care_breakdown"} <= set(reasons)


def test_a_question_left_after_misses_keeps_the_offer_never_refused() -> None:
    """Left after four messages not understood, the category question keeps what the bot
    offered from her story (said back, for staff to check), not "skipped"."""
    turn = category_after(GRANDMOTHER)
    for text in NOT_UNDERSTOOD[:4]:
        turn = say(turn.snapshot, text)
    assert turn.snapshot.state == "who"
    label = CATALOG.text("category.care", "id")
    assert f"Dari cerita Anda, saya catat: {label}. Petugas akan memastikannya" in words(turn)
    assert turn.snapshot.answers["category"] == "care"
    assert {"moved_on": {"state": "category", "kept": "care"}}.items() <= \
        {e.kind: e.data for e in turn.events}.items()
    assert assessed(turn)[0] == "P1"


@pytest.mark.parametrize("refusal", ["bukan", None])
def test_a_question_left_with_no_offer_standing_is_skipped_as_before(
        refusal: str | None) -> None:
    """An offer refused ("bukan"), or none made: left after misses, the question is skipped
    ("Tidak apa-apa, pertanyaan ini kita lewati.") and nothing is taken."""
    turn = category_after(GRANDMOTHER) if refusal else say(snapshot_at("category"), "halo")
    if refusal:
        turn = say(turn.snapshot, refusal)
    for text in NOT_UNDERSTOOD:
        if turn.snapshot.state == "category":
            turn = say(turn.snapshot, text)
    assert turn.snapshot.answers["category"] == "skipped"
    assert "Tidak apa-apa, pertanyaan ini kita lewati." in words(turn)
    assert "saya catat" not in words(turn)


def test_a_yes_beside_a_threat_in_another_sentence_answers_the_risk_question() -> None:
    """Walk Q-14: "io de ada di rumah. pernah de bilang mo bunuh mama" at "is the person who
    hurts you near?" was asked again after the violence text: its first sentence answers
    it (yes), the threat is heard as danger words as ever."""
    snap = snapshot_at("risk_perpetrator", category="dv", who="self", _told="violence",
                       _focus="violence")
    turn = say(snap, "io de ada di rumah. pernah de bilang mo bunuh mama")
    assert turn.snapshot.answers.get("perpetrator_near") == "yes", [r.key for r in turn.replies]
    assert turn.snapshot.state != "risk_perpetrator"


def test_not_knowing_where_to_run_answers_the_safe_place_question() -> None:
    """"sa tra tau mo lari ke mana" at "a safe place tonight?" is no, by the notice it
    brings (held-out replies)."""
    turn = say(snapshot_at("risk_safe_place", category="dv", who="self"),
               "sa tra tau mo lari ke mana")
    assert turn.snapshot.answers.get("safe_place") == "no", [r.key for r in turn.replies]


def test_no_just_bruises_at_the_injury_question_is_no_and_no_emergency() -> None:
    """Walk R-7: "tra, cuma biru2 di lengan" (no, just bruises on the arm) at "is anyone
    hurt and needing medical help?" was the P0 injury text ("tekan luka yang berdarah").
    It is no, and no emergency; blows told beside bruises are still violence."""
    turn = say(snapshot_at("risk_injured", category="dv", who="self"),
               "tra, cuma biru2 di lengan")
    assert turn.snapshot.answers.get("injured") == "no", [r.key for r in turn.replies]
    assert not any(r.key.startswith("emergency") for r in turn.replies)


@pytest.mark.parametrize(("text", "near"), [
    ("he is at work in tembagapura, he comes home on weekends", "no"),
    ("he is at home", "yes"),
])
def test_near_or_away_in_english(text: str, near: str) -> None:
    """Walk R-10: "he is at work in tembagapura, he comes home on weekends" was asked
    again; the Indonesian "kerja di tembagapura" was understood."""
    turn = say(snapshot_at("risk_perpetrator", lang="en", category="dv", who="self"), text,
               lang="en")
    assert turn.snapshot.answers.get("perpetrator_near") == near, [r.key for r in turn.replies]
