"""The emergency message's question ("are you safe now?") as people answer it.

Found in a walk-through as families write: a neighbour telling of children beaten next door
was asked "Apakah Anda aman sekarang?" with "Saya sekarang sudah aman" as an answer; and the
answer "Masih dalam bahaya" (the button's own label, typed) was read as new danger words, so
the whole emergency message came back instead of the answer being taken, every time.
The engine is stepped directly (it is pure).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.types import Inbound, Snapshot, Turn
from tests.support import flows
from tests.test_danger_protocol import words as said

ENGINE = flows()
NOW = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)  # 21:30 WIT, a Monday night
NEIGHBOUR = ("selamat malam, sa tetangga. anak2 di rumah sebelah dipukul bapanya tiap malam, "
             "skarang de pukul lagi")


def talk(*messages: str, lang: str = "id") -> list[Turn]:
    snap: Snapshot | None = None
    turns = []
    for i, text in enumerate(messages):
        turn = ENGINE.step(snap, Inbound("test", "u1", f"m{i}", text=text), NOW, lang)
        turns.append(turn)
        snap = turn.snapshot
    return turns


def test_a_neighbour_telling_of_children_is_asked_whether_the_child_is_safe() -> None:
    first = said(talk(NEIGHBOUR)[0])
    assert "Apakah anak itu aman sekarang?" in first
    assert "Apakah Anda aman sekarang?" not in first
    assert "Saya sekarang sudah aman" not in first  # the answers fit whoever is in danger
    assert "Sudah aman sekarang" in first and "Masih dalam bahaya" in first
    english = said(talk(NEIGHBOUR, lang="en")[0], "en")
    assert "Is the child safe now?" in english and "Are you safe now?" not in english


def test_still_in_danger_typed_as_families_type_it_is_taken_once() -> None:
    """The label typed, and Papuan Malay danger words about the same children: the answer,
    noted (the child's numbers again), and the conversation goes on; not the whole
    emergency message again."""
    for answer in ("Masih dalam bahaya", "masih dalam bahaya kaka", "de masi pukul anak2 skarang"):
        _, second = talk(NEIGHBOUR, answer)
        keys = [r.key for r in second.replies]
        assert keys[0] == "emergency.still_ack.child", (answer, keys)
        assert "emergency.child" not in keys, answer
        assert "anak itu masih dalam bahaya" in said(second), answer
        assert "still_in_danger" in second.snapshot.flags
        assert second.snapshot.answers["still_in_danger_answer"] == "danger"
        assert second.snapshot.state == "greeting", answer  # back where it was
        kinds = [e.kind for e in second.events]  # staff see the words and the answer
        assert kinds[0] == "crisis_words" and "still_in_danger" in kinds, kinds


def test_safe_beside_danger_now_is_not_taken_as_safe() -> None:
    _, second = talk(NEIGHBOUR, "aman tapi de masih pegang parang di luar")
    assert second.snapshot.state == "emergency_check"
    assert "still_in_danger_answer" not in second.snapshot.answers
    assert "hubungi" in said(second)  # the numbers again, with the question


def test_another_kind_of_danger_gets_its_own_numbers() -> None:
    _, second = talk(NEIGHBOUR, "sa juga mo gantung diri malam ini")
    assert any(r.key == "emergency.selfharm" for r in second.replies)
    assert "119" in said(second)


def test_the_person_told_about_safe_now_in_papuan_malay() -> None:
    for answer in ("de su aman, mama de bawa lari", "dong su aman skarang", "1"):
        _, second = talk(NEIGHBOUR, answer)
        assert second.snapshot.answers["still_in_danger_answer"] == "safe", answer
        assert second.snapshot.state == "greeting", answer


def test_safe_then_what_else_is_wrong_is_taken_as_safe() -> None:
    """Walk O: "aman kk, anak2 ada deng sa di rumah. cuma sa tra pu uang" (a mother whose
    "anak2" had brought the child's emergency) was asked again for a number, the P0 left
    open: a "tra" or "ada" inside the words after the answer is no second answer. A "tapi"
    still turns it, and danger words after it are still danger."""
    for answer in ("aman kk, anak2 ada deng sa di rumah. cuma sa tra pu uang",
                   "aman kk, ini bukan dipukul, de jatuh sendiri"):
        _, second = talk(NEIGHBOUR, answer)
        assert second.snapshot.answers["still_in_danger_answer"] == "safe", answer
    for answer in ("aman tapi de masih pegang parang di luar", "aman, tapi sa takut"):
        _, second = talk(NEIGHBOUR, answer)
        assert second.snapshot.answers.get("still_in_danger_answer") != "safe", answer
    _, english = talk(NEIGHBOUR, "im safe at home, its online", lang="en")
    assert english.snapshot.answers["still_in_danger_answer"] == "safe"


def test_the_writer_safe_and_the_child_not_is_still_in_danger() -> None:
    """"Saya aman, yang dalam bahaya anak itu" after a child's emergency: the writer is safe,
    the child is not. Before, "dalam bahaya" brought the whole emergency message again."""
    _, second = talk("tolong paitua pukul anak sa pake kayu skarang",
                     "Saya aman, yang dalam bahaya anak itu")
    assert second.replies[0].key == "emergency.still_ack.child"
    assert second.snapshot.answers["still_in_danger_answer"] == "danger"


def test_safe_but_is_asked_again_and_safe_somewhere_is_safe() -> None:
    """"sa aman, tapi anak2 masih di dalam rumah deng de" was taken as safe and the
    conversation went on with the children inside with a man holding a machete (a
    walk-through): a "tapi" takes "safe" back, and the question comes again.
    "sa su aman di rumah tetangga" was asked again: it is safe."""
    _, second = talk("paitua pegang parang di luar",
                     "sa aman, tapi anak2 masih di dalam rumah deng de")
    assert second.snapshot.state == "emergency_check"
    assert "still_in_danger_answer" not in second.snapshot.answers
    _, second = talk("sa dipukul suami skarang", "sa su aman di rumah tetangga")
    assert second.snapshot.answers["still_in_danger_answer"] == "safe"
    assert second.snapshot.state != "emergency_check"


def test_a_father_afraid_he_will_hurt_his_child_is_not_told_his_safety_matters() -> None:
    """A father who fears he will hurt his son, asked "in danger now?", answers "2" (not now,
    but afraid): he heard "Keselamatan Anda penting" and the victims' numbers (a
    walk-through). Now what to do when he feels he might hurt the child."""
    *_, third = talk("malam. sa laki2, sa mau jujur. sa pu anak laki2 umur 4 thn menangis "
                     "terus tiap malam. td sa hampir banting de. sa takut sa nanti pukul de "
                     "sampe parah", "1", "2")
    assert third.replies[0].key == "safety_p1.no_case.harms_others"
    text = said(third)
    assert "letakkan anak di tempat aman" in text and "Keselamatan Anda penting" not in text


def test_the_same_danger_again_gets_the_short_form_and_darurat_the_whole_message() -> None:
    """A woman hiding in the bathroom writes again that she cannot phone: before, the whole
    emergency message came again, telling her to phone (a walk-through). The same danger
    after its emergency message: the short form (marked urgent, staff will write in this
    chat, a WhatsApp number or someone near to call 110) with the numbers and the question.
    Another kind of danger gets its own whole message; DARURAT always the whole message."""
    turns = talk("kaka tolong sa pu paitua ada pukul sa skarang, sa sembunyi di kamar mandi",
                 "2",
                 "sa tra bisa telpon nanti de dengar. tolong kirim orang ka polisi ke rumah",
                 "2", "sa juga mo gantung diri malam ini", "2", "DARURAT")
    keys = [[r.key for r in t.replies] for t in turns]
    assert keys[0][0] == "emergency.violence"  # and no one will phone her: hiding, from
    assert "notice.chat_only" in keys[0]  # her first message (walk N)
    assert keys[2] == ["emergency.violence.again"]
    again = said(turns[2]).split("\nBaik, kami catat")[0]
    assert "lewat chat ini" in again and "WA 08111-129-129" in again
    assert again.endswith("Apakah Anda aman sekarang?\nSudah aman sekarang\nMasih dalam bahaya")
    assert keys[4][0] == "emergency.selfharm" and keys[6][0] == "emergency"


def test_a_young_man_saying_goodbye_is_heard_and_not_told_the_same_block_five_times() -> None:
    """A walk-through: "titip mama e" was the welcome, "sa pu tali su di belakang rumah" not
    understood, and the self-harm emergency message came whole five times. Now the goodbye
    is self-harm, the rope is danger now, and the same danger again gets the short form:
    someone with you, the rope and pills put away, staff will write here."""
    turns = talk("kaka sa cuma mo bilang trima kasih untuk smua. titip mama e",
                 "sa mo gantung diri malam ini", "2",
                 "nomor apa lagi. sa pu tali su di belakang rumah")
    assert turns[0].replies[0].key == "crisis.p1.selfharm"
    assert turns[1].replies[0].key == "emergency.selfharm"
    assert turns[3].replies[0].key == "emergency.selfharm.again"
    assert "minta satu orang menemani Anda" in said(turns[3])


def test_the_writer_telling_of_a_sister_is_not_told_they_are_in_danger() -> None:
    """A walk-through: a woman whose sister's husband threatens the sister with a machete
    was told "Keselamatan Anda yang utama", and "bukan sa, sa pu kaka yang dalam bahaya" was
    noted as "Anda masih dalam bahaya". Now the texts for someone telling of another."""
    first, second = talk("kaka tolong cepat, sa pu kaka perempuan de pu suami pegang parang "
                         "ancam mo potong de malam ini. dorang di SP3",
                         "bukan sa, sa pu kaka yang dalam bahaya")
    assert first.replies[0].key == "emergency.violence.other"
    assert second.replies[0].key == "emergency.still_ack.other"
    assert "Anda masih dalam bahaya" not in said(second)


def test_the_question_asked_again_is_the_one_asked_first() -> None:
    """Asked again in short ("Maaf..." twice, or "sa tra mengerti"), each emergency text's
    question is the same question: a man who had hurt his wife was asked "is everyone safe
    now?", then "are you safe now?" (a re-check); a child writing was asked in "Anda"."""
    for lang in ("id", "en"):
        texts = ENGINE.bundle.catalog.texts[lang]
        for key, text in texts.items():
            if not key.startswith("emergency") or key.endswith(".short") or \
                    "still_" in key or not text.rstrip().endswith("?"):
                continue
            asked = text.rstrip().splitlines()[-1].strip()
            short = texts.get(f"{key}.short") or texts.get(  # a child bleeding: the child's
                f"{key.removesuffix('.injured')}.short") or texts.get(
                f"{key.removesuffix('.police')}.short", texts["emergency.short"])
            assert short.startswith(asked), (lang, key, asked, short)


def test_after_a_refusal_a_family_in_danger_is_told_staff_read_its_messages() -> None:
    """Consent refused, then danger words (a P0 case for vital interest): her next messages
    are recorded for staff and she is told so, with the numbers, not "Ketik ULANG untuk
    mulai konsultasi" (a walk-through: her children were inside with an armed man)."""
    from dataclasses import replace

    turns = talk("halo", "1", "3", "3",
                 "kaka tolong paitua mabuk pegang parang de bilang mo bunuh sa deng anak2",
                 "2")
    assert "case_upsert" in [e.kind for t in turns for e in t.events]
    opened = replace(turns[-1].snapshot, case_number="LK3-2026-00001")  # as the service does
    turn = ENGINE.step(opened, Inbound("test", "u1", "m9", text="anak2 masih di dalam rumah"),
                       NOW, "id")
    assert [r.key for r in turn.replies] == ["refused.idle.case"]
    assert [e.kind for e in turn.events] == ["message_while_resting"]
    without = ENGINE.step(replace(opened, case_number=None),
                          Inbound("test", "u1", "m9", text="halo"), NOW, "id")
    # no case after danger words: PETUGAS puts her through (walk S), not "Ketik ULANG"
    assert [r.key for r in without.replies] == ["refused.idle.told"]
    said = ENGINE.bundle.catalog.text("refused.idle.case", "id")
    assert "petugas LK3" in said and "110" in said


NGO = ("Hi, I work for an NGO in Timika. A girl about 6 years old has been left alone at my "
       "neighbours house since yesterday, the parents went to the highlands and nobody is "
       "looking after her. What should I do?")


def test_a_worker_reporting_a_child_alone_is_asked_about_the_child() -> None:
    """A worker reporting a girl of 6 left alone since yesterday (a walk-through: P1, then
    after "yes, now" at the danger question "Your safety comes first... Are you safe now?",
    and "I am safe, the child is not" not understood): the child's emergency text at once,
    asked about the child, and that answer is "still in danger"."""
    first = talk(NGO, lang="en")[0]  # someone else's child: the text for one who tells
    assert first.replies[0].key == "emergency.child.other", [r.key for r in first.replies]
    assert "Is the child safe now?" in said(first, "en")
    turns = talk(NGO, "I am safe, the child is not", lang="en")
    assert turns[-1].snapshot.answers.get("still_in_danger_answer") == "danger"
    # told of a child, then "yes, now" at the danger question: the child's text, not "yours"
    told = talk("anak tetangga dipukul bapanya tiap hari", "1", "1")
    assert told[-1].replies[0].key.startswith("emergency.child"), told[-1].replies


def test_an_injury_answered_after_its_emergency_message_is_not_told_again_whole() -> None:
    """"sa pu bibir berdarah tapi tra parah" brought the injury emergency message; the "iya"
    to the injury question after it brought the whole message again (a walk-through: the
    emergency block six times in one conversation). The words are the yes now (walk M: the
    question had come back, and the block with it), and the hurt told again later is the
    short form."""

    from tests.test_danger_protocol import say, snapshot_at

    first = say(snapshot_at("risk_injured", category="dv", who="self"),
                "sa pu bibir berdarah tapi tra parah")
    assert first.replies[0].key == "emergency.injury"
    assert first.snapshot.answers["injured"] == "yes"
    back = say(first.snapshot, "2")  # still in danger: on to the next question
    assert back.snapshot.state == "risk_perpetrator", back.snapshot.state
    again = say(back.snapshot, "sa pu bibir masih berdarah")
    assert again.replies[0].key == "emergency.injury.again", [r.key for r in again.replies]


def test_an_injury_told_after_another_emergency_gets_the_short_form() -> None:
    """A mother told of a teacher who beat her son (the emergency message), then "de pu betis
    biru2" at a later question: the whole injury block came again, four blocks in one
    conversation (a walk-through). An injury after an emergency message is the short form
    with the injury numbers; a new kind of danger (self-harm) still gets its whole message."""
    turns = talk("tolong paitua pukul sa skarang", "1", "sa pu kaki berdarah banyak",
                 "sa juga mo gantung diri malam ini")
    keys = [[r.key for r in t.replies] for t in turns]
    assert keys[0][0] == "emergency.violence"
    assert "emergency.injury.again" in keys[2], keys[2]
    assert "IGD" in said(turns[2])
    assert "emergency.selfharm" in keys[3], keys[3]


POLICE_BEAT_ME = ("tadi malam sa ditangkap polisi, dong pukul sa di pos sampe sa pu muka "
                  "bengkak. sa mo lapor ke mana?")


def _numbers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("•")]


def test_one_beaten_by_the_police_is_not_sent_to_the_police() -> None:
    """A young man beaten at a police post (a walk-through): no police station among the
    safe places, and 110 after the health post and SAPA, now, when he says he is still in
    danger, and when he writes of danger again; where to complain about the police too."""
    first, still, again = talk(POLICE_BEAT_ME, "masih bahaya, dong cari sa",
                               "dong pukul sa lagi di jalan")
    text = said(first)
    assert [r.key for r in first.replies][:2] == ["emergency.violence.police",
                                                  "notice.police_harm"]
    assert "kantor polisi" not in text and "Propam" in text
    numbers = _numbers(text)
    assert "110" in numbers[-1] and "IGD" in numbers[0], numbers
    assert still.replies[0].key == "emergency.still_ack.police"
    assert "110" not in said(still)
    assert "110" not in said(again).split("•")[0]  # not "ask someone to call 110"
    assert "110" in _numbers(said(again))[-1]
    english = said(talk(POLICE_BEAT_ME, lang="en")[0], "en")
    assert "police station" not in english and "Propam" in english
    # staff read it with the case the first message opens: not to be referred to the police
    (opened,) = [e for e in first.events if e.kind == "case_upsert"]
    assert "hurt_by_police" in opened.data["reasons"]


def test_others_hurt_by_someone_else_still_get_the_police_first() -> None:
    """A woman beaten by her husband: the police station stays a safe place and 110 first."""
    text = said(talk("paitua pukul sa skarang, sa lari ke luar")[0])
    assert "kantor polisi" in text and "110" in _numbers(text)[0]


def test_a_child_still_in_danger_is_told_as_a_child() -> None:
    """A boy of 13 beaten now says he is still in danger: "kamu" and an adult he trusts, not
    "Anda ... tempat yang ramai" (the note's open item); a girl of 15 who will hang herself
    tonight: not to stay alone, as a child."""
    _, still = talk("sa umur 13, bapa pukul sa skarang pake kayu", "masih, de di luar kamar")
    assert still.replies[0].key == "emergency.still_ack.young"
    assert "orang dewasa yang kamu percaya" in said(still) and "Anda" not in said(still)
    _, still = talk("sa umur 15, sa mo gantung diri malam ini", "tra aman")
    assert still.replies[0].key == "emergency.still_ack.selfharm.young"
    assert "119" in said(still) and "Anda" not in said(still)


def test_a_boy_whose_stepfather_is_home_now_drunk_gets_the_childs_emergency() -> None:
    """A boy of 14 had told that his stepfather hits his mother and him; "sa masi 14 thn. de
    ada di rumah skrg, mabuk" got "Mohon jawab dulu pertanyaan ini" (a walk-through): the
    one who hurts at home now is danger now, in the child's words, with TePSA."""
    *_, now = talk("bapa tiri pukul mama", "dia pukul sa juga. sa takut",
                   "sa masi 14 thn. de ada di rumah skrg, mabuk")
    assert now.replies[0].key == "emergency.violence.child"
    assert "TePSA" in said(now) and "Apakah kamu aman sekarang?" in said(now)


def test_a_teacher_telling_of_a_childs_burn_marks_gets_the_childs_numbers() -> None:
    """A teacher's pupil of 9 came twice with burns "seperti bekas rokok dan setrika": the
    injury text alone had gone out, with no TePSA (a walk-through). Burn marks with a child's
    age anywhere in the message are a child in danger; an adult's are not a child's."""
    teacher = talk("Saya guru SD. Ada murid saya kelas 3, umur 9 tahun, sudah dua kali datang "
                   "ke sekolah dengan luka bakar di lengan, seperti bekas rokok dan setrika.")[0]
    assert teacher.replies[0].key == "emergency.child.other.injured"  # burns: to the IGD
    assert "TePSA" in said(teacher) and "Apakah anak itu aman sekarang?" in said(teacher)
    adult = talk("sa pu tangan ada bekas rokok, paitua sundut sa tadi malam")[0]
    assert not adult.replies[0].key.startswith("emergency.child")


def test_danger_written_one_word_a_message_is_read_together() -> None:
    """A walk-through: someone hiding in the WC wrote "kk", "de", "mo", "bunuh", "sa",
    "pake", "parang", one a message, and read "Maaf, saya belum mengerti" to each; only a
    bare "tolong" brought help. Short messages that answered nothing are read with the
    next ones: "de mo bunuh sa" is danger now; after it, words that answer nothing get a
    quiet line (staff were told, no need to answer), not "Maaf" and the menu."""
    turns = talk("kk", "de", "mo", "bunuh", "sa", "pake", "parang")
    keys = [[r.key for r in t.replies] for t in turns]
    assert keys[4] == ["emergency.violence"], keys
    assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in turns[4].events)
    assert keys[5] == keys[6] == ["reprompt_urgent"], keys
    assert "tidak perlu membalas" in said(turns[5])
    # words of a longer message, or an answer between, are not pieces
    plain = talk("halo", "1", "de", "mo", "bunuh", "nyamuk")
    assert not any(k.startswith("emergency") for t in plain for k in (r.key for r in t.replies))


def test_a_longer_answer_after_danger_now_is_not_the_quiet_line() -> None:
    """The quiet line is for words written one at a time from a hiding place; walk L found it
    given to every answer not understood once a case was P0 ("sa aman kk, sa pu anak yg tra
    aman"). A longer one gets the usual answer; a short one the quiet line, which also says
    it was not understood."""
    turns = talk("tolong de pukul sa skarang", "sa aman kk, sa pu anak yg tra aman", "wc")
    assert "reprompt_urgent" not in [r.key for r in turns[1].replies]
    assert [r.key for r in turns[2].replies] == ["reprompt_urgent"]
    assert said(turns[2]).startswith("Maaf, belum saya mengerti.")


def test_the_same_words_answering_the_next_question_seconds_later_are_an_answer() -> None:
    """Walk L: "sa tra tau kk" answered one question, and the same words a few seconds later,
    answering the next one, were dropped as a message sent twice. Only a burst (the same
    story within 2 seconds) is one message."""
    first = talk("halo", "1", "3", "1", "2", "8", "1", "1", "Timika Jaya",
                 "sa tra tau kk soal itu")[-1]
    asked = first.snapshot.state
    later = ENGINE.step(first.snapshot, Inbound("test", "u1", "m9",
                                                text="sa tra tau kk soal itu"),
                        first.snapshot.updated_at + timedelta(seconds=5), "id")
    assert later.replies and not any(e.kind == "repeated" for e in later.events)
    assert later.snapshot.state == asked  # heard, and asked plainer (not silence)


def test_an_injury_by_accident_gets_the_health_post_and_first_aid_not_the_police() -> None:
    """Walk O: a mother whose son of 8 fell from a mango tree read Polisi 110, TePSA and
    SAPA and "Apakah semua orang aman sekarang?". An injury by accident, with no other
    danger in the message, reads first aid and the health post alone; it stays P0, as
    DOMAIN.md puts an injury that needs care. A fall in a story of blows is no accident."""
    fall = ("tolong kk sa pu anak umur 8 thn jatuh dari pohon mangga tadi sore, de pu tangan "
            "bengkak skali tra bisa gerak. sa harus bawa ke mana?")
    first = talk(fall)[0]
    assert first.replies[0].key == "emergency.injury.accident"
    text = said(first)
    assert "IGD" in text and "kain bersih" in text
    assert "110" not in text and "TePSA" not in text and "SAPA" not in text
    assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in first.events)
    bite = talk("sa pu bapa digigit ular di kebun, kaki su bengkak, tolong")[0]
    assert bite.replies[0].key == "emergency.injury.accident"
    blows = talk("de pukul sa sampe sa jatuh dari tangga, kepala berdarah")[0]
    assert "accident" not in blows.replies[0].key and "110" in said(blows)
    # "tolak" is a push in Papua: no accident either
    pushed = talk("paitua tolak sa sampe sa jatuh, kepala berdarah")[0]
    assert "accident" not in pushed.replies[0].key and "110" in said(pushed)


def test_a_girl_hurt_in_a_fall_reads_the_child_s_first_aid() -> None:
    """Walk O's re-check: a girl of 12 ("kaka sa nona 12 thn, tadi sa jatuh di kali") read
    Polisi 110 and "Apakah Anda aman sekarang?": "kaka sa" (the bot addressed) hid her
    age, and "jatuh di kali" was no fall. She reads the child's first aid, in "kamu"."""
    first = talk("kaka sa nona 12 thn, tadi sa jatuh di kali, kaki luka besar, mama blum "
                 "pulang")[0]
    assert first.replies[0].key == "emergency.injury.accident.child"
    text = said(first)
    assert "110" not in text and "Anda" not in text and "orang dewasa" in text


def test_a_sister_shot_with_an_arrow_and_bleeding_is_first_an_injury() -> None:
    """Walk O's re-check: "sa pu kaka perempuan di alama kena panah di kaki, darah banyak"
    read the bystander's text for blows ("jangan masuk sendiri"), nothing for the bleeding:
    "darah banyak" was no injury. Someone else bleeding: the injury text, the health post
    first, a clean cloth on the wound."""
    first = talk("tolong kk sa pu kaka perempuan di alama kena panah di kaki, darah banyak, "
                 "suami yang panah")[0]
    assert first.replies[0].key == "emergency.injury.other", first.replies[0].key
    text = said(first)
    assert "kain bersih" in text and text.index("IGD") < text.index("110")


def _at(state: str, answers: dict[str, object], flags: tuple[str, ...], text: str) -> Turn:
    snap = Snapshot(ENGINE.flow.name, state, "id", {"mode": "chat", "consent": "agree",
                                                    **answers}, flags, 0,
                    ENGINE.flow.version, None, NOW)
    return ENGINE.step(snap, Inbound("test", "u1", "m1", text=text), NOW, "id")


@pytest.mark.parametrize(("state", "text"), [
    ("risk_injured", "sa punya tali di kamar"), ("asq_tried", "sa su siap racun"),
    ("contact_pref", "sa sendiri yang bahaya kk"),
])
def test_a_method_or_being_alone_after_words_of_wanting_to_die_is_danger_now(
        state: str, text: str) -> None:
    """Walk Q: after words of wanting to die, "sa punya tali di kamar" at the injury question
    and "sa sendiri di kos" at "are you safe now?" were "Maaf, saya belum mengerti", and staff
    saw only the first message. In a conversation that told of wanting to die, a method at
    hand, being alone or a farewell is self-harm now: the self-harm emergency text (keep
    away what can hurt, do not stay alone), a P0 for staff."""
    turn = _at(state, {"category": "selfharm"}, ("crisis_selfharm",), text)
    assert turn.replies[0].key == "emergency.selfharm", [r.key for r in turn.replies]
    assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in turn.events)
    alone = _at("emergency_check", {"category": "selfharm", "_focus": "selfharm",
                                    "_return_to": "asq_now"},
                ("crisis_selfharm", "crisis_now", "p0_alerted"), "sa sendiri di kos")
    assert alone.replies[0].key == "emergency.still_ack.selfharm", alone.replies


@pytest.mark.parametrize("text", ["sa punya tali di kamar", "sa sendiri di kos",
                                  "tolong titip sa pu anak2 e"])
def test_the_same_words_without_wanting_to_die_told_are_no_danger(text: str) -> None:
    turn = _at("risk_injured", {"category": "economy"}, (), text)
    assert not any(r.key.startswith("emergency") for r in turn.replies), turn.replies


def test_a_farewell_leaving_the_children_in_someone_s_care_is_danger_now() -> None:
    """Walk Q: "sa su tra kuat. sa mo pigi jauh saja. tolong titip sa pu anak2 e", read by
    the model as wanting to die, waited as P1 until 09:00: the children left in someone's
    care is a farewell, which says the time is now."""
    first = talk("kk sa su tra kuat. sa mo pigi jauh saja. tolong titip sa pu anak2 e")[0]
    assert first.replies[0].key == "emergency.selfharm", first.replies[0].key


def test_once_still_in_danger_is_told_a_new_urgent_answer_is_noted_not_asked_again() -> None:
    """Walk Q-13: a woman hiding answered the risk questions; each yes (hurt, he is near, a
    weapon) brought the whole emergency text and "Apakah Anda aman sekarang?" again, four
    times in one conversation, with the list of five numbers as well. Once she has said the
    danger goes on, a new urgent answer is noted in one line with the numbers (the injury's
    first aid), staff are told (P0), and the next question follows."""
    turn = _at("risk_injured", {"category": "dv", "who": "self", "_focus": "violence",
                                "_told": "violence", "still_in_danger_answer": "danger",
                                "_emergency_shown": "emergency.violence"},
               ("crisis_violence", "crisis_now", "p0_alerted", "still_in_danger"), "1")
    keys = [r.key for r in turn.replies]
    assert keys == ["emergency.more.injury", "risk.perpetrator"], keys
    assert "kain bersih" in said(turn) and "aman sekarang" not in said(turn)
    assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in turn.events)
    near = ENGINE.step(turn.snapshot, Inbound("test", "u1", "m2", text="1"), NOW, "id")
    assert [r.key for r in near.replies] == ["risk.weapon"], near.replies  # no P1 list


def test_her_words_after_still_in_danger_are_heard_not_told_to_answer_first() -> None:
    """Walk Q-13: a woman hiding, still in danger, wrote "de masih di luar kk sa takut
    sekali" at the next question and read "Terima kasih sudah bercerita. Mohon jawab dulu
    pertanyaan ini dengan nomor pilihan". She reads that her words were read, that staff
    know, and that she need not answer."""
    turn = _at("greeting", {"_focus": "violence", "_told": "violence", "_greeted": True,
                            "still_in_danger_answer": "danger"},
               ("crisis_violence", "crisis_now", "p0_alerted", "still_in_danger"),
               "de masih di luar kk sa takut sekali")
    assert turn.replies[0].key == "reprompt_afraid", turn.replies
    assert "tidak perlu membalas" in said(turn) and "Mohon jawab dulu" not in said(turn)


def test_a_past_threat_told_after_safe_now_is_noted_not_an_emergency_again() -> None:
    """Walk R-8: a woman who had answered "Sudah aman sekarang" told, at the weapon question,
    "pernah de ancam pake parang" (he once threatened her with a machete) and read "pergi
    sekarang ke tempat aman ... Jika Anda bersembunyi" and "are you safe now?" again. The
    case is P0 for staff; she reads one line and the numbers, and the next question."""
    turn = _at("risk_weapon", {"category": "dv", "who": "self", "_focus": "violence",
                               "_told": "violence", "still_in_danger_answer": "safe"},
               ("crisis_violence", "crisis_now", "p0_alerted"), "pernah de ancam pake parang")
    keys = [r.key for r in turn.replies]
    assert keys[0] == "emergency.more.safe" and "aman sekarang" not in said(turn), keys
    assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in turn.events)


def test_is_anyone_there_after_words_of_wanting_to_die_is_answered_honestly() -> None:
    """Walk R-2: after a P0 self-harm intake, with no staff reached, "halo kk? ada orang
    ka?" read only "Pesan Anda sudah kami tambahkan ke kasus ... Petugas LK3 akan
    menghubungi Anda". It is the question whether a person reads (this is the assistant),
    and waiting after words of wanting to die says not to stay alone and the numbers now."""
    turn = _at("closing", {"category": "selfharm"}, ("crisis_selfharm", "p0_alerted"),
               "halo kk? ada orang ka?")
    assert [r.key for r in turn.replies] == ["faq.bot", "closing.idle.selfharm"], turn.replies
    text = said(turn)
    assert "bukan manusia" in text and "119" in text and "belum membalas" in text


def test_more_words_of_self_harm_after_still_in_danger_are_noted_with_what_to_do_alone() -> None:
    """Walk R-3: a person alone with a rope, still in danger, wrote "sa su ikat tali di
    kamar", then "tra ada orang" (there is nobody): each brought the self-harm text
    ("minta satu orang menemani Anda") and "Apakah Anda aman sekarang?" again. Once its
    short form was shown, more is noted, with what to do when nobody is near, and staff
    told (P0)."""
    snap = ("asq_wish", {"category": "selfharm", "_focus": "selfharm", "_told": "selfharm",
                         "still_in_danger_answer": "danger"},
            ("crisis_selfharm", "crisis_now", "p0_alerted", "still_in_danger"))
    for text in ("sa su ikat tali di kamar", "tra ada orang"):  # (its short form shown)
        turn = _at(snap[0], {**snap[1], "_emergency_shown": "emergency.selfharm.again"},
                   snap[2], text)
        assert turn.replies[0].key == "emergency.more.selfharm", turn.replies
        assert "Bila tidak ada orang di dekat Anda" in said(turn)
        assert "aman sekarang" not in said(turn)
        assert any(e.kind == "case_upsert" and e.data["priority"] == "P0" for e in turn.events)


def test_still_in_danger_before_the_intake_is_followed_by_a_short_welcome() -> None:
    """After DARURAT (or danger words) and "still in danger", the welcome is one short line
    that still says it is a bot, not the whole first-contact text and its menu (walk T-12);
    "already safe" still gets the whole welcome, and the intake goes on either way."""
    for first, answer in (("DARURAT", "2"), ("darurat kaka", "masih dalam bahaya kaka"),
                          ("tolong sa pu paitua pukul sa skarang", "2")):
        turns = talk(first, answer)
        keys = [r.key for r in turns[1].replies]
        assert keys[-1] == "greeting.danger_now", (first, keys)
        text = said(turns[1])
        assert "bukan manusia" in text  # Never 7
        assert "Pilih cara bicara" not in text and "Type LANGUAGE" not in text, text
        assert "Lembaga Konsultasi" not in text
        third = talk(first, answer, "1")[2]  # "Lanjut chat": no danger question again
        assert third.snapshot.state == "consent", (first, third.snapshot.state)
    safe = said(talk("DARURAT", "1")[1])
    assert "Ini layanan LK3 (Lembaga Konsultasi Kesejahteraan Keluarga)" in safe
    english = said(talk("DARURAT", "2", lang="en")[1], "en")
    assert "not a human" in english and "When it is safe" in english
