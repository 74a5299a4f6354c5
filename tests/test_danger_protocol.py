"""Danger words answered in the same turn, in every state (issue 13, build 4-7).

The engine is stepped directly (it is pure): a snapshot is made at each state of the flow,
a message is sent, and the replies are read as the family would read them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.actions import RETURN_TO, TOLD
from flows.danger import FOCUS_ORDER
from flows.hearing import MODEL_HEARD_WORDS
from flows.misses import MISSES_BEFORE_HUMAN, MISSES_BEFORE_MOVING_ON
from flows.text import clean
from flows.triage import PRIORITIES
from flows.types import LANGUAGES, Inbound, Snapshot, Turn
from tests.support import flows

ENGINE = flows()
FLOW = ENGINE.flow
CATALOG = ENGINE.bundle.catalog
DIRECTORY = ENGINE.bundle.directory
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 09:30 WIT, a Monday
CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "crisis_corpus.yaml").read_text(
    encoding="utf-8"))
EMERGENCY = FLOW.states[FLOW.interrupts["emergency"]].prompt
EMERGENCY_KEYS = {EMERGENCY, f"{EMERGENCY}.young", *(f"{EMERGENCY}.{g}{form}" for g in FOCUS_ORDER
                               for form in ("", ".child", ".other", ".injured",
                                            ".other.injured", ".child.injured"))}
# as in engine_properties
P1_KEYS = {f"crisis.p1.{g}" for g in FOCUS_ORDER}
CONSENTED = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}


def snapshot_at(state: str, lang: str = "id", **answers: Any) -> Snapshot:
    """A conversation resting at `state` after consent (interrupts return to `category`)."""
    spec = FLOW.states[state]
    known = {**CONSENTED, **({RETURN_TO: "category"} if spec.interrupt else {}), **answers}
    return Snapshot(FLOW.name, state, lang, known, (), 0, FLOW.version, None,
                    NOW - timedelta(minutes=1))


def say(snap: Snapshot | None, text: str, lang: str = "id", channel: str = "test") -> Turn:
    return ENGINE.step(snap, Inbound(channel, "u1", "m1", text=text), NOW, lang)


def words(turn: Turn, lang: str = "id") -> str:
    """Everything the turn says, with choice labels, as one text."""
    out = []
    for r in turn.replies:
        done = CATALOG.render(r, lang, {"case_number": "LK3-2026-00001"})
        out += [done.text, *(c.label for c in done.choices)]
    return "\n".join(out)


def priority(snap: Snapshot) -> str:
    facts = {**snap.answers, **{f: "yes" for f in snap.flags}}
    return ENGINE.bundle.triage.assess(facts).priority


def numbers_of(group: str, lang: str) -> list[str]:
    return DIRECTORY.contacts(lang, None, [group]).splitlines()


# Resting states other than those a message moves on from; every state of the flow is tried.
STATES = sorted(FLOW.states)
VIOLENCE = "sa pu paitua pukul sa"  # P1: violence words, no weapon, no threat, no injury
IMMINENT = {
    "selfharm": "sa mo gantung diri malam ini",
    "violence": "dia ambil parang mo bunuh sa",
    "sexual": "dia perkosa sa sekarang, dia masih di sini",
}


@pytest.mark.parametrize("state", STATES)
def test_danger_words_get_the_numbers_in_the_same_turn_in_every_state(state: str) -> None:
    """Violence words in any state bring the violence numbers in that turn, before any
    question, and the conversation is not lost (its state stays or moves on)."""
    turn = say(snapshot_at(state), VIOLENCE)
    keys = [r.key for r in turn.replies]
    assert keys and keys[0] in P1_KEYS | EMERGENCY_KEYS, (state, keys)
    said = words(turn)
    for line in numbers_of("violence", "id"):
        assert line in said, (state, line)
    assert "crisis_violence" in turn.snapshot.flags
    assert any(e.kind == "crisis_words" for e in turn.events)
    assert priority(turn.snapshot) in ("P0", "P1")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("group", sorted(IMMINENT))
def test_imminent_danger_is_p0_with_its_emergency_message_in_every_state(
        state: str, group: str) -> None:
    """Imminent danger words are P0 anywhere: that danger's emergency message, one safety
    question, and a P0 case for staff in the same turn (consent or not)."""
    turn = say(snapshot_at(state), IMMINENT[group])
    keys = [r.key for r in turn.replies]
    assert f"{EMERGENCY}.{group}" in keys, (state, keys)
    assert turn.snapshot.state == FLOW.interrupts["emergency"]
    cases = [e for e in turn.events if e.kind == "case_upsert"]
    assert cases and cases[-1].data["priority"] == "P0", (state, turn.events)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_self_harm_emergency_puts_its_lines_first_and_never_says_find_a_safe_place(
        lang: str) -> None:
    """Self-harm: 119 ext. 8 / healing119.id first, "do not stay alone", and not the
    violence advice to find a safe place."""
    turn = say(None, IMMINENT["selfharm"], lang)
    said = words(turn, lang)
    first_number = DIRECTORY.contacts(lang, None, ["selfharm"]).splitlines()[0]
    assert "119 ext. 8" in first_number and first_number in said
    assert {"id": "jangan sendirian", "en": "do not stay alone"}[lang] in said
    assert {"id": "tempat aman", "en": "safe place"}[lang] not in said


@pytest.mark.parametrize("lang", LANGUAGES)
def test_first_message_is_read_before_the_greeting(lang: str) -> None:
    """The first message of a conversation is read: danger words get help in that turn,
    and the emergency message says it comes from a bot."""
    turn = say(None, IMMINENT["selfharm"], lang)
    assert turn.replies[0].key == f"{EMERGENCY}.selfharm"
    assert {"id": "bukan manusia", "en": "not a human"}[lang] in words(turn, lang)


def test_a_second_self_harm_statement_is_p0() -> None:
    """Self-harm words a second time in one conversation are P0, even without a method."""
    first = say(snapshot_at("who"), "sa mau mati saja")
    assert priority(first.snapshot) == "P1"
    assert first.snapshot.state == "who"  # the question is asked again
    second = say(replace(first.snapshot, state="distrik"), "sa su cape hidup")
    assert f"{EMERGENCY}.selfharm" in [r.key for r in second.replies]
    assert priority(second.snapshot) == "P0"


def test_mistyped_is_recorded_and_never_lowers_the_priority() -> None:
    """'salah ketik' records the dispute; the words' flag and P1 stay for staff to see."""
    hit = say(snapshot_at("who"), "sa mau mati saja")
    turn = say(hit.snapshot, "salah ketik")
    assert "crisis_selfharm" in turn.snapshot.flags
    assert "crisis_disputed" in turn.snapshot.flags
    assert any(e.kind == "crisis_disputed" for e in turn.events)
    assert priority(turn.snapshot) == "P1"
    assert turn.snapshot.state == "who"


def test_emergency_word_after_danger_words_gives_the_general_message() -> None:
    """DARURAT always shows the general emergency message with every number."""
    hit = say(snapshot_at("category"), "sa mau mati saja")
    turn = say(hit.snapshot, "DARURAT")
    assert EMERGENCY in [r.key for r in turn.replies]
    for line in DIRECTORY.contacts("id", None).splitlines():
        assert line in words(turn)


def test_a_story_about_a_child_and_a_weapon_leads_with_the_child_numbers() -> None:
    """Several kinds of danger in one message: the child's emergency text, with the child
    lines and the police."""
    turn = say(None, "dia ancam bunuh sa pake parang, anak sa dipukul sampai berdarah, tolong")
    assert any(r.key.startswith(f"{EMERGENCY}.child") for r in turn.replies)
    said = words(turn)
    for line in [*numbers_of("child", "id"), *numbers_of("violence", "id")]:
        assert line in said


def test_someone_who_hurts_family_gets_their_own_answer() -> None:
    """The person who hurts others: no victim text, the duty to protect children said
    plainly, counselling offered."""
    turn = say(snapshot_at("category"), "sa sering pukul sa pu anak, sa mau berhenti")
    keys = [r.key for r in turn.replies]
    assert "crisis.p1.harms_others" in keys, keys
    said = words(turn)
    assert "wajib melindungi anak" in said and "konseling" in said
    assert "Anda tidak salah" not in said


@pytest.mark.parametrize("state", ["danger", "consent", "age", "who", "risk_injured"])
def test_number_followed_by_danger_words_is_not_that_choice(state: str) -> None:
    """'3 tra, tapi sa mo bunuh diri' is read as words: help, and the question again."""
    turn = say(snapshot_at(state), "3 tra, tapi sa mo bunuh diri")
    assert turn.snapshot.state in (state, FLOW.interrupts["emergency"])
    assert FLOW.states[state].save not in turn.snapshot.answers or state in CONSENTED
    assert "crisis_selfharm" in turn.snapshot.flags


def test_at_the_category_question_the_words_say_the_category() -> None:
    """At "what is the problem", '3 tra, tapi sa mo bunuh diri' is not option 3 (children):
    its words are the answer, self-harm."""
    turn = say(snapshot_at("category"), "3 tra, tapi sa mo bunuh diri")
    assert turn.snapshot.answers["category"] == "selfharm"
    assert "crisis_selfharm" in turn.snapshot.flags


def test_two_misses_offer_a_simpler_question_and_a_person() -> None:
    """The second answer not understood in a row brings a simpler form and PETUGAS."""
    snap = snapshot_at("consent")
    for _ in range(MISSES_BEFORE_HUMAN - 1):
        snap = say(snap, "hmm apa ini").snapshot
    turn = say(snap, "hmm apa ini")
    keys = [r.key for r in turn.replies]
    assert keys == ["offer_human", "consent.short"]
    assert "PETUGAS" in words(turn)
    assert [c for _, c in turn.replies[-1].choices]  # still answerable by number


def test_an_optional_question_never_loops() -> None:
    """An optional question not understood again and again is left, the intake goes on."""
    snap = snapshot_at("risk_injured", category="care")  # (economy passes it)
    for _ in range(MISSES_BEFORE_MOVING_ON):
        turn = say(snap, "hmm apa ini")
        snap = turn.snapshot
    assert snap.state != "risk_injured"
    assert snap.answers["injured"] == "skipped"
    assert "moved_on" in [r.key for r in turn.replies]


def test_every_yes_no_risk_question_offers_dont_know() -> None:
    """Every yes/no question about safety also takes 'tidak tahu' ("is it safe to keep
    chatting?": not knowing is read as not safe, and the bot waits to be written to)."""
    for s in FLOW.states.values():
        values = [c.value for c in FLOW.choices_of(s)]
        if s.prompt.startswith(("risk.", "asq.")) and {"yes", "no"} <= set(values):
            turn = say(snapshot_at(s.name, category="dv"), "sa tra tau")
            assert turn.snapshot.answers.get(s.save) in ("unknown", "no"), s.name
            assert "unknown" in values or s.name == "risk_safe_chat", s.name


@pytest.mark.parametrize(("answers", "expected"), [
    ({"weapon": "yes"}, "P0"),
    ({"perpetrator_near": "yes", "age": "under18"}, "P0"),
    ({"perpetrator_near": "yes", "who": "child"}, "P0"),
    ({"perpetrator_near": "yes"}, "P1"),
    ({"category": "child"}, "P3"),
    ({"category": "harms_others", "children_at_risk": "yes"}, "P1"),
    ({"asq_wish": "yes"}, "P1"),
    ({"asq_wish": "yes", "asq_now": "unknown"}, "P0"),
])
def test_triage_as_domain_says(answers: dict[str, str], expected: str) -> None:
    """DOMAIN.md: a weapon or a threat to kill is P0; a child with the abuser near is P0;
    parenting is P3; not knowing about suicidal thoughts now is not 'no': after a yes to an
    earlier ASQ question it is a person to reach tonight (P0), as a "yes" is."""
    assert ENGINE.bundle.triage.assess(answers).priority == expected


def test_every_reason_has_words_for_staff_in_every_language() -> None:
    """Reasons are codes for JSON; staff read them in Indonesian (or English)."""
    triage = ENGINE.bundle.triage
    for rule in triage.rules:
        assert all(triage.labels[rule.reason][lang] for lang in LANGUAGES)
        assert triage.label(rule.reason, "id") != rule.reason
    assert triage.describe(["weapon_or_threat"]) == "ancaman membunuh atau senjata"
    assert PRIORITIES[0] == "P0"


@pytest.mark.parametrize(("channel", "key"), [("telegram", "quick_exit.telegram"),
                                              ("whatsapp", "quick_exit.other")])
def test_quick_exit_is_one_neutral_line(channel: str, key: str) -> None:
    """KELUAR / EXIT: one line, no question, an event the channel acts on; the
    conversation stays where it was."""
    snap = snapshot_at("category")
    for word in ("KELUAR", "exit"):
        turn = say(snap, word, channel=channel)
        assert [r.key for r in turn.replies] == [key]
        assert [e.kind for e in turn.events] == ["keyword", "quick_exit"]
        assert turn.snapshot.state == "category"
    assert "LK3" not in words(say(snap, "KELUAR", channel="telegram"))


def test_asking_for_a_person_after_danger_words_opens_a_case_without_consent() -> None:
    """PETUGAS after danger words reaches the queue even before consent (they asked)."""
    hit = say(None, VIOLENCE)
    turn = say(hit.snapshot, "PETUGAS")
    assert any(e.kind == "case_upsert" for e in turn.events)


# -- the property: any corpus phrase, inside any message, in any state --------------------

DANGER = [(item["text"], item["group"]) for item in CORPUS["danger"]]
ORDINARY = list(CORPUS["ordinary"])


@settings(max_examples=300, deadline=None, database=None)
@given(st.sampled_from(DANGER), st.sampled_from(STATES), st.sampled_from(ORDINARY),
       st.sampled_from(ORDINARY), st.sampled_from(LANGUAGES))
# found by this property on 2026-12-07: self-harm words at "are you safe now?" had the
# general "still in danger" text, without the self-harm line
@example(("sa mo gantung diri malam ini", "selfharm"), "emergency_check", "tra", "tra", "id")
# ...and on 2026-12-07 (eighteenth session): danger only the model reads, beside a sick child
# or "jangan cerita ke orang", was dropped for the notice
@example(("sa pu istri pergi, sa su tra tahan, sa pikir mo ikut dia pu mama yang su meninggal",
          "selfharm"), "consent_call", "sa pu anak demam tinggi, sa bawa ke rsud", "jarang", "id")
@example(("sa pu anak perempuan hamil, ternyata pelakunya om sendiri", "sexual"),
         "risk_safe_chat", "tutup mulut, jangan cerita ke orang", "obat nyamuk bakar habis", "id")
# a pause ("pulsa habis") once read as the whole message, its story unread
@example(("sa pu anak sering dipukul bapa tirinya", "child"), "account",
         "pulsa habis, ini pake wifi tetangga", "sa su bilang tadi", "id")
# a health card's question once read as the whole message, its story unread
@example(("sa pu anak sering dipukul bapa tirinya", "child"), "account", "sa su bilang tadi",
         "KIS sa tra aktif", "id")
def test_a_danger_phrase_inside_any_message_in_any_state_brings_its_numbers(
        phrase: tuple[str, str], state: str, before: str, after: str, lang: str) -> None:
    """Property: a corpus danger phrase inside any message, in any state, brings its
    group's numbers in the same turn (or the emergency message with them)."""
    text, group = phrase
    message = f"{before}. {text}. {after}"
    # the model is not asked at questions of fact (an age, a place): their answers are short
    scan = ENGINE.bundle.crisis.scan(clean(message), model=not FLOW.states[state].facts)
    turn = say(snapshot_at(state, lang), message, lang)
    if group not in scan.groups:  # a recall miss: counted by `lk3 flow eval`, not here
        return
    if scan.model is not None and len(clean(message).split()) < MODEL_HEARD_WORDS and \
            not any(e.kind == "crisis_words" for e in turn.events):
        return  # only the model read a short reply that answered the question: it gives way
    said = words(turn, lang)
    # an injury by accident alone: the health post, not the police (walk O)
    for line in numbers_of("accident" if scan.accident else group, lang):
        assert line in said, (message, state, line)


def test_the_safety_question_never_loops_and_the_case_stays_p0() -> None:
    """'Are you safe now?' answered with words it cannot read, again and again: after the
    fourth the person is back where they were, the P0 kept; yes/no words are understood."""
    hit = say(snapshot_at("who"), IMMINENT["violence"])
    snap = hit.snapshot
    for _ in range(MISSES_BEFORE_MOVING_ON):
        turn = say(snap, "hmm apa ini")
        snap = turn.snapshot
    assert snap.state == "who" and priority(snap) == "P0"
    assert say(hit.snapshot, "tra").snapshot.answers["still_in_danger_answer"] == "danger"
    assert say(hit.snapshot, "iyo").snapshot.answers["still_in_danger_answer"] == "safe"


@pytest.mark.parametrize(("age", "key", "tepsa"), [
    ("under18", "crisis.p1.sexual.child", True),
    ("adult", "crisis.p1.sexual", False),
])
def test_a_child_who_writes_of_abuse_is_answered_as_a_child(age: str, key: str,
                                                            tepsa: bool) -> None:
    """A 14-year-old telling of her stepfather (found in a walk-through as families write):
    "kamu", an adult she trusts, and the child protection line, not the adult text about a
    visum at the IGD; an adult keeps the adult text."""
    snap = snapshot_at("category", age=age)
    turn = say(snap, "bapa tiri suka pegang-pegang sa pu badan kalo mama kerja")
    assert turn.replies[0].key == key, [r.key for r in turn.replies]
    said = words(turn)
    assert ("TePSA" in said) is tepsa and ("kamu" in said) is tepsa, said


@pytest.mark.parametrize("text", [
    "sa pu anak prempuan 12 tahun dipegang-pegang de pu om",
    "om de raba sa pu anak nona",
    "anak sa umur 12 diperkosa tetangga",
])
def test_a_parent_telling_of_a_child_abused_is_not_told_to_get_themselves_examined(
        text: str) -> None:
    """Found in a walk-through as families write: a mother telling of her 12-year-old touched
    by an uncle got "Anda tidak salah... periksakan diri" and no child line. A child named
    with the danger words: the victim's text ("korban") and TePSA."""
    turn = say(snapshot_at("category"), text)
    said = words(turn)
    assert turn.replies[0].key == "crisis.p1.sexual.about_child", [r.key for r in turn.replies]
    assert "Korban tidak pernah salah" in said and "periksakan diri" not in said
    assert "TePSA" in said


@pytest.mark.parametrize(("text", "key"), [
    ("bapa tiri suka pegang-pegang sa pu badan", "crisis.p1.sexual"),  # the writer
    ("suami paksa sa berhubungan", "crisis.p1.sexual"),
])
def test_the_writer_abused_keeps_the_text_for_themselves(text: str, key: str) -> None:
    assert say(snapshot_at("category"), text).replies[0].key == key


def test_help_now_after_self_harm_words_gets_the_self_harm_texts() -> None:
    """Found in a walk-through: after "sa mau mati saja", "tolong telpon sa skarang" got the
    violence texts (go to a neighbour's house, SAPA). It follows the earlier kind now."""
    first = say(snapshot_at("who"), "sa mau mati saja")
    turn = say(first.snapshot, "tolong telpon sa skarang")
    assert turn.replies[0].key == f"{EMERGENCY}.selfharm"
    assert "healing119" in words(turn)
    alone = say(snapshot_at("who"), "tolong telpon sa skarang")  # nothing before: violence
    assert alone.replies[0].key == f"{EMERGENCY}.violence"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_after_a_story_the_greeting_does_not_start_over(lang: str) -> None:
    """Found in a walk-through: right after the numbers for a family's story came the generic
    "Selamat malam... Pilih cara bicara". It still says it is a bot, without greeting again."""
    turn = say(None, "sa pu suami pukul sa tiap malam", lang)
    keys = [r.key for r in turn.replies]
    assert keys[-1] == "greeting.told_danger", keys
    said = words(turn, lang)
    assert {"id": "bukan manusia", "en": "not a human"}[lang] in said
    assert {"id": "Selamat", "en": "Good "}[lang] not in said
    assert say(None, "halo", lang).replies[0].key == "greeting"


JOKES = ["sa bercanda saja", "hahaha sa bercanda saja kaka jang serius", "cuma bercanda",
         "bercanda", "just kidding", "haha i was joking",
         # walk O: "Maaf, saya belum mengerti" and "Terima kasih sudah bercerita"
         "sa bercanda kk", "hahaha bukan kk, sa tra mau bunuh diri, sa cuma bilang panas to"]


def test_words_of_wanting_to_die_reach_a_person_even_before_consent() -> None:
    """Never 2 (a walk-through: "sa cape hidup, lebih baik sa tra ada" as a first message had
    its numbers and no case; "sa bercanda saja" then got "Maaf, saya belum mengerti", and
    no person would ever have seen it): a case for staff now, for vital interest, told so;
    "bercanda" after it is heard, the words still count, and staff read that it was called
    a joke; BERHENTI then ends with the self-harm lines, not only the police."""
    first = say(None, "sa cape hidup, lebih baik sa tra ada")
    opened = [e.data for e in first.events if e.kind == "case_upsert"]
    assert opened and opened[0]["legal_basis"] == "vital_interest", first.events
    told = words(first)
    assert "sudah kami teruskan ke petugas LK3" in told, told
    snap = replace(first.snapshot, case_number="LK3-2026-00001")  # as the service does
    for joke in JOKES:
        joked = say(snap, joke)
        assert joked.replies[0].key == "joking_ack.selfharm", (joke, joked.replies)
        assert {"crisis_selfharm", "crisis_disputed"} <= set(joked.snapshot.flags)
        assert joked.snapshot.state == snap.state  # the question again, the place kept
    assert "healing119.id" in words(say(snap, "BERHENTI"))
    plain = say(snapshot_at("category", **CONSENTED), "bercanda")  # no danger words: no ack
    assert [r.key for r in plain.replies] == ["category"]
    assert "crisis_disputed" not in plain.snapshot.flags


def test_how_urgent_does_not_replace_what_the_problem_is() -> None:
    """"paitua pukul sa" then "kam bisa kirim polisi ka?" (help now): the category offered
    later is still domestic violence (a walk-through: "Hubungan suami-istri" was offered,
    from the story's other words, and taken with "iya")."""
    first = say(None, "tolong sa pu paitua baru pukul sa skarang sa sembunyi di kamar mandi")
    assert first.snapshot.answers.get(TOLD) == "violence"
    back = say(first.snapshot, "1")  # safe now: back at the greeting
    later = say(back.snapshot, "kam bisa kirim polisi ka?")
    assert "help_now" in [e.data["groups"][0] for e in later.events if e.kind == "crisis_words"]
    assert later.snapshot.answers.get(TOLD) == "violence", later.snapshot.answers
    asked = say(snapshot_at("age", **{TOLD: later.snapshot.answers[TOLD]}), "2")
    assert [(r.key, r.params) for r in asked.replies] == [
        ("category.suggest", {"suggested_key": "category.dv"})]


@pytest.mark.parametrize(("state", "text", "value"), [
    ("risk_weapon", "io de pernah ancam pake parang", "yes"),
    ("asq_wish", "iya sa pernah mau mati", "yes"),
])
def test_a_risk_answer_with_danger_words_is_taken_by_its_own_words(
        state: str, text: str, value: str) -> None:
    """"io de pernah ancam pake parang" at "has he ever threatened you with a weapon?" is
    yes (a walk-through: the numbers, then the same question, three times); words of
    danger that pick no answer of their own leave the question to be asked again."""
    category = "selfharm" if state.startswith("asq") else "dv"
    turn = say(snapshot_at(state, category=category, who="self"), text)
    save = FLOW.states[state].save
    assert turn.snapshot.answers.get(save) == value, (turn.snapshot.answers, turn.replies)
    other = say(snapshot_at(state, category=category, who="self"),
                "dulu de pukul sa sampe pingsan")
    assert save not in other.snapshot.answers


def test_a_threat_with_a_weapon_is_no_codeword_nor_a_safe_time() -> None:
    """A father's "sa pu parang su sa simpan di motor, kalo besok dong usir sa lagi, dong
    liat saja" at the codeword question was saved as his codeword, which a counselor would
    have said back to him (a walk-through). A text question other than the story keeps no
    message with danger words: it is asked again after the danger text. The story keeps it."""
    threat = ("kemarin de pu kaka usir sa. sa pu parang su sa simpan di motor, "
              "kalo besok dong usir sa lagi, dong liat saja")
    for state in ("codeword", "safe_times"):
        turn = say(snapshot_at(state, category="other", who="self"), threat)
        assert state not in turn.snapshot.answers, state
        assert any(e.kind == "crisis_words" for e in turn.events)
    story = say(snapshot_at("account", category="dv", who="self"), threat)
    assert "parang" in str(story.snapshot.answers.get("account"))


def test_sexual_violence_to_an_adult_opens_no_case_before_consent() -> None:
    """A woman asked about an ex who threatens to spread her video, then chose "numbers only,
    no personal data": a case had been opened with her story before any consent (a
    walk-through; UU PDP). Not imminent, an adult: the numbers, and no case until she
    agrees. A child's sexual abuse, or words of wanting to die, still open one at once."""
    first = say(None, "sa mo tanya, sa pu mantan ancam sebar sa pu video di grup wa kalo "
                      "sa tra balikan")
    assert "crisis_sexual" in first.snapshot.flags
    assert not [e for e in first.events if e.kind == "case_upsert"]
    numbers = say(first.snapshot, "3")
    assert not [e for e in numbers.events if e.kind == "case_upsert"]
    child = say(None, "sa pu anak umur 12 dipegang-pegang om di kamar")
    assert [e.data["priority"] for e in child.events if e.kind == "case_upsert"] == ["P1"]


def test_a_threat_to_spread_a_video_is_told_of_evidence_not_a_visum() -> None:
    """A woman whose ex threatened to spread her video, and a girl of 17 threatened with her
    photos, were told to get a visum within 72 hours, again and again (a walk-through). Where
    the sexual words are all of images: keep the evidence, send nothing, it can be reported.
    A rape told with such a threat still gets the medical text."""
    turn = say(None, "sa pu mantan ancam sebar sa pu video di grup wa kalo sa tra balikan")
    assert turn.replies[0].key == "crisis.p1.sexual.images"
    text = words(turn)
    assert "Simpan buktinya" in text and "72 jam" not in text and "visum" not in text
    young = say(None, "sa umur 17, de ancam sebar sa pu foto")
    assert young.replies[0].key == "crisis.p1.sexual.images.child"
    both = say(None, "de perkosa sa trus ancam sebar video")
    assert both.replies[0].key == "crisis.p1.sexual"
    # walk U-4: naked photos named, and a deadline tonight: still evidence, not a visum
    for said, key in (
            ("ada orang ancam sebar sa pu foto bugil kalo sa tra kirim uang",
             "crisis.p1.sexual.images"),
            ("ada laki2 di fb, sa su kirim foto tra pake baju, skarang de ancam mo sebar ke sa "
             "pu grup sekolah kalo sa tra transfer 2 juta malam ini", "emergency.sexual.images"),
            ("sa umur 15. de ancam sebar sa pu foto bugil malam ini kalo sa tra kirim uang",
             "emergency.sexual.images.child")):
        turn = say(None, said)
        text = words(turn)
        assert turn.replies[0].key == key and "Jangan kirim uang" in text, said
        assert "72 jam" not in text and "visum" not in text, said


def test_numbers_after_a_refusal_lead_with_what_was_told() -> None:
    """A boy who spoke of not wanting to live refused consent and read the numbers with the
    police first and 119 last (a walk-through). The numbers lead with the kind of danger he
    told; without danger words the order is as ever."""
    snap = None
    for text in ("sa cape hidup begini", "1", "tra ada yg bahaya", "3"):
        turn = say(snap, text)
        snap = turn.snapshot
    assert snap.state == "refused"
    lines = [line for line in words(turn).splitlines() if line.startswith("• ")]
    assert "119" in lines[0], lines
    plain = None
    for text in ("halo", "1", "3", "3"):
        turn = say(plain, text)
        plain = turn.snapshot
    lines = [line for line in words(turn).splitlines() if line.startswith("• ")]
    assert "110" in lines[0], lines


def test_pills_already_taken_are_told_to_go_to_the_igd_now() -> None:
    """"sa su minum obat banyak" got "jauhkan ... obat" and no word of going to hospital (a
    walk-through): the self-harm emergency message says what to do when it is already done."""
    text = words(say(None, "sa su minum obat banyak"))
    assert "sudah menelan obat" in text and "IGD" in text


@pytest.mark.parametrize(("text", "key"), [
    ("bapanya pukul sa pu anak 5 thn sampe berdarah, skarang de masih mabuk di rumah",
     f"{EMERGENCY}.child.injured"),
    ("anak sa umur 8 luka berdarah di kepala krn dipukul om nya", f"{EMERGENCY}.child.injured"),
    ("sa pu tetangga pu anak umur 6 dipukul sampe berdarah skarang",
     f"{EMERGENCY}.child.other.injured"),
    ("sa umur 12 bapa pukul sa sampe berdarah skarang", f"{EMERGENCY}.child.child.injured"),
])
def test_a_bleeding_child_is_taken_to_the_health_post_first(text: str, key: str) -> None:
    """A walk-through: a mother whose child of 5 was beaten bloody read "bawa anak ke tempat
    aman" with the health post last of four numbers; a mother of a boy of 8 with a bleeding
    head read "Keselamatan Anda yang utama... Apakah Anda aman sekarang?". The child's
    emergency text now says to take the child to the IGD first, and lists it first."""
    turn = say(None, text)
    assert [r.key for r in turn.replies] == [key]
    said = words(turn)
    assert "IGD" in said.splitlines()[0]
    numbers = [line for line in said.splitlines() if line.startswith("•")]
    assert numbers[0] == DIRECTORY.contacts("id", None, ["injury"]).splitlines()[0]
    assert numbers[1].startswith("• Anak dalam bahaya (TePSA)")
    assert "Apakah anak itu aman" in said or "Apakah kamu aman" in said


@pytest.mark.parametrize("text", [
    "waktu sa umur 10 sa sering dipukul bapa, skarang sa su besar",
    "waktu sa umur 10 bapa pukul sa sampe berdarah",
])
def test_the_writers_own_age_back_then_is_no_child_hurt_now(text: str) -> None:
    """A blow beside a child's age is a child hurt ("anak sa umur 8 ... dipukul"), but not
    beside the writer's own age back then: an adult telling of childhood is P1, not P0."""
    turn = say(None, text)
    assert turn.replies[0].key == "crisis.p1.violence"
    assert "crisis_child" not in turn.snapshot.flags and priority(turn.snapshot) != "P0"


def test_unsure_of_thoughts_of_suicide_now_after_a_yes_is_answered_tonight() -> None:
    """A walk-through: a mother alone in the kitchen at night said yes to three ASQ questions
    ("ada tadi malam" was "Maaf, saya belum mengerti"), then "sa tra tau kk" to "thoughts of
    suicide right now?": no word of care, P1, "besok 08.00". Now "ada tadi malam" is yes,
    and not knowing is P0 with the self-harm emergency message in that turn."""
    snap = snapshot_at("asq_thoughts", category="selfharm", asq_wish="yes",
                       asq_better_off="yes")
    turn = say(snap, "ada tadi malam")
    assert turn.snapshot.answers["asq_thoughts"] == "yes"
    snap = snapshot_at("asq_now", category="selfharm", asq_wish="yes", asq_better_off="yes",
                       asq_thoughts="yes", asq_tried="no")
    turn = say(snap, "sa tra tau kk. anak2 su tidur, sa sendiri di dapur")
    assert turn.snapshot.answers["asq_now"] == "unknown"
    assert turn.replies[0].key == f"{EMERGENCY}.selfharm", [r.key for r in turn.replies]
    assert priority(turn.snapshot) == "P0"
    assert "jangan sendirian" in words(turn)


@pytest.mark.parametrize(("text", "weapon"), [
    ("pernah de blg mo bunuh sa", "yes"),
    ("bapa blg kalo sa lari de potong sa", "yes"),
    ("io de pernah ancam pake parang", "yes"),
    ("de pukul sa skarang", None),  # danger now, but no threat to kill: asked again after
])
def test_a_threat_to_kill_told_in_words_answers_the_threat_question(
        text: str, weapon: str | None) -> None:
    """A walk-through: "pernah de blg mo bunuh sa" at "has he ever threatened to kill you or
    used a weapon?" got the numbers and the same question again; a girl of 15's "bapa blg
    kalo sa lari de potong sa" too. A threat to kill (crisis.yaml `markers.kill`) or a weapon
    in the words is the yes; a blow now is danger, not that answer."""
    turn = say(snapshot_at("risk_weapon", category="dv"), text)
    assert turn.snapshot.answers.get("weapon") == weapon
    assert priority(turn.snapshot) == "P0"


def test_staff_read_wanting_to_die_when_only_the_model_read_it() -> None:
    """Walk L: a man alone and drinking wrote "sa su tra guna, lebih baik sa hilang"; only the
    model read it, and staff were paged with "kata-kata bahaya" and "dibaca otomatis", never
    a word of suicide. The words are in the lists now; and where only the model reads wanting
    to die, the case's reasons say so."""
    listed = say(None, "sa su tra guna, lebih baik sa hilang")
    assert "crisis_selfharm" in listed.snapshot.flags
    turn = say(None, "tra guna sa hidup")
    assert "model_selfharm" in turn.snapshot.flags
    opened = next(e for e in turn.events if e.kind == "case_upsert")
    assert "model_selfharm" in opened.data["reasons"]
    assert "bunuh diri" in ENGINE.bundle.triage.label("model_selfharm", "id")
    moving = say(None, "lebih baik sa hilang dari kampung ini, pindah ke jayapura")
    assert "crisis_selfharm" not in moving.snapshot.flags


def test_a_story_at_the_safety_question_gets_one_list_of_numbers() -> None:
    """A mother answered "iya" to "are you in danger now?", read the general emergency
    message, then told "sa pu paitua pukul sa tadi malam": she read the violence numbers
    twice in one turn, once with "Ketik PETUGAS bila ingin petugas menghubungi Anda" though
    her case was already urgent. The safety question comes again as the violence message,
    alone; a P1 story at any other question still gets its own numbers."""
    urgent = say(Snapshot(FLOW.name, "danger", "id", {"mode": "chat"}, (), 0, FLOW.version,
                          None, NOW), "iya")
    assert urgent.snapshot.state == FLOW.interrupts["emergency"]
    turn = say(urgent.snapshot, "sa pu paitua pukul sa tadi malam")
    said = words(turn)
    assert [r.key for r in turn.replies] == [f"{EMERGENCY}.violence"]
    assert said.count("SAPA") == 1 and "PETUGAS" not in said
    assert priority(turn.snapshot) == "P0"
    elsewhere = say(snapshot_at("who"), "sa pu paitua pukul sa tadi malam")
    assert elsewhere.replies[0].key in P1_KEYS


def test_a_hurt_told_in_words_answers_the_question_once() -> None:
    """Walk M: "muka bengkak sedikit, tra parah" at "is anyone hurt?" brought the injury
    text, then the same question again after "aman", and a second emergency text for "sa su
    bilang td". "tra parah" beside the hurt is no "no": the answer is yes, and the questions
    go on; "tra perlu ke rumah sakit" is still asked again. A past attempt told at "have you
    ever tried?" is its yes, answered with the helplines, and the next ASQ question follows."""
    hurt = say(snapshot_at("risk_injured", category="dv"), "muka bengkak sedikit, tra parah")
    assert hurt.snapshot.answers.get("injured") == "yes"
    back = say(hurt.snapshot, "aman, de tidur")
    assert back.snapshot.state != "risk_injured" and back.snapshot.state != "emergency_check"
    tried = say(snapshot_at("asq_tried", category="selfharm", asq_wish="yes",
                            asq_thoughts="yes"), "tahun lalu sa pernah minum racun rumput")
    assert tried.snapshot.answers.get("asq_tried") == "yes"
    assert tried.replies[0].key == "crisis.p1.selfharm"
    assert tried.snapshot.state == "asq_now"


def test_one_who_would_hurt_others_and_is_still_in_danger_is_told_not_to_go_there() -> None:
    """Walk M: a man who wrote he wanted to kill his wife and her lover, then "dong tra ada
    di sini. tapi sa tau dong tinggal di mana", read "pergi ke tempat yang aman dan ramai",
    a victim's text. He is told not to go there, to put the machete out of reach, and where
    to call when he cannot hold back."""
    first = say(None, "sa pu maitua selingkuh, sa rasa mo bunuh de deng laki2 itu")
    assert first.replies[0].key == "emergency.harms_others"
    still = say(first.snapshot, "dong tra ada di sini. tapi sa tau dong tinggal di mana")
    assert still.replies[0].key == "emergency.still_ack.harms_others"
    said = words(still)
    assert "Jangan pergi ke tempat mereka" in said and "tempat yang aman dan ramai" not in said


def test_a_boy_of_14_who_wants_to_die_now_reads_kamu() -> None:
    """Walk U-20: a bullied boy of 14 who answered every suicide question "iya" read "Bila
    tidak ada orang di dekat Anda" when "saat ini juga" made it an emergency; "kamu", and an
    adult he trusts first."""
    snap = None
    for said in ("halo", "1", "tra", "setuju", "sa 14 tahun kelas 2 smp", "tra ada", "sekolah",
                 "sa tiap hari dong ejek sa pu kulit deng pukul sa di wc sekolah. sa malas "
                 "hidup, lebih baik sa mati saja", "iya", "sa sendiri", "mimika baru", "SP2",
                 "iya", "tra", "iya", "tra", "tra tau", "tra", *["iya"] * 7):
        turn = say(snap, said)
        snap = turn.snapshot
    assert turn.replies[0].key == "emergency.more.selfharm.young", [r.key for r in turn.replies]
    text = words(turn)
    assert "orang dewasa yang kamu percaya" in text and " Anda" not in text, text
