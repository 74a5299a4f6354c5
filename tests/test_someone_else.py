"""Danger told by someone who is not the one in danger: a neighbour, a sister, a pastor.

Found in a walk-through as families write: a neighbour telling of a woman beaten next door
got "Keselamatan Anda yang utama. Jika bisa, pergi sekarang ke tempat aman" and "Apakah Anda
aman sekarang?", written to the person hurt. The words now tell who is hurt
(`other_victim` and `self_victim` in flows/crisis.yaml): someone telling of another gets the
texts for them ("jangan masuk sendiri ke tempat yang berbahaya", "Apakah semua orang aman
sekarang?"); a writer hurt too, or self-harm words, never. Once "who needs help?" is
answered, its answer decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flows.danger import focus_of
from tests.support import flows
from tests.test_danger_protocol import words as said
from tests.test_emergency_question import talk
from tests.test_young_writers import rows as _rows

CRISIS = flows().bundle.crisis
DATA = Path(__file__).parent / "data"
NEIGHBOUR = "tetangga ada pukul de pu maitua pake parang skarang"


def keys(text: str, *before: str) -> list[str]:
    return [r.key for r in talk(*before, text)[-1].replies]


def test_a_neighbour_telling_of_violence_now_gets_the_texts_for_a_witness() -> None:
    turn = talk(NEIGHBOUR)[0]
    assert turn.replies[0].key == "emergency.violence.other"
    text = said(turn)
    assert "jangan masuk sendiri ke tempat yang berbahaya" in text
    assert "Apakah semua orang aman sekarang?" in text and "Apakah Anda aman" not in text
    _, still = talk(NEIGHBOUR, "masih dalam bahaya")
    assert still.replies[0].key == "emergency.still_ack.other"


@pytest.mark.parametrize("text", [
    "suami pukul sa skarang tolong",
    "bapa pukul mama deng sa skarang, de pegang parang",  # the writer hurt too
    "SUAMI MABUK LAGI, DE BANTING PIRING, LEMPAR SA, TOLONG DATANG",
    # hiding at the neighbour's is still her own danger (walk O: answered as a bystander,
    # "jangan masuk sendiri ke tempat yang berbahaya", no word about hiding)
    "tolong sa pu suami mabuk pegang parang de mo bunuh sa, sa lari di blakang rumah tetangga",
    "paitua cari sa pake parang, sa sembunyi di rumah tetangga",
])
def test_a_writer_in_danger_is_still_written_to_as_the_one_in_danger(text: str) -> None:
    assert keys(text)[0] in ("emergency.violence", "crisis.p1.violence"), text


def test_someone_else_beaten_and_bleeding_is_helped_to_care_first() -> None:
    """Walk O: a woman in Agimuga whose grown sister was beaten bloody by her husband read
    "Anak yang terluka" (the sister is 24), then "jangan masuk sendiri ke tempat yang
    berbahaya" and nothing for the blood that would not stop. Told of another who is
    bleeding: the injury's text, with help when the IGD is far and a clean cloth pressed on
    the wound."""
    turn = talk("tolong sa pu ade perempuan di pukul suaminya pake kayu, de pu kepala bocor "
                "darah trus kluar. kami di agimuga, rumah sakit jauh skali")[0]
    assert turn.replies[0].key == "emergency.injury.other", turn.replies[0].key
    text = said(turn)
    assert "kain bersih" in text and "kepala kampung" in text and "Anak" not in text
    from flows.actions import TOLD
    assert turn.snapshot.answers[TOLD] == "violence"  # the problem told: the category offer


def test_self_harm_words_are_never_read_as_someone_elses() -> None:
    """The cost of the mistake is too high: a writer at risk told to watch over another."""
    text = "Syalom. Sa majelis di jemaat, orang kira sa kuat. Sa kumpul obat tidur banyak"
    assert "other" not in keys(text)[0]
    assert keys("sa rasa mo gantung diri. sa pu ade laki su ikat tali di pohon")[0] == \
        "emergency.selfharm"
    # every sentence of it names the brother: the texts for the one who cares for him
    assert keys("sa pu ade laki su ikat tali di pohon, de mo gantung diri malam ini")[0] == \
        "emergency.selfharm.other"


def test_a_sister_telling_of_violence_not_now_gets_the_p1_text_for_the_person_hurt() -> None:
    turn = talk("sa pu kaka perempuan dipukul de pu suami tiap minggu")[0]
    assert turn.replies[0].key == "crisis.p1.violence.other"
    assert "Orang yang mengalami kekerasan tidak salah" in said(turn)


def test_who_needs_help_myself_ends_the_reading() -> None:
    """Words read as someone else's, then "who needs help?" answered "myself": the texts
    for the writer from then on (danger words that name no victim, as most later do)."""
    # safe now, chat (no danger question after the emergency message), ..., who: myself
    intake = [NEIGHBOUR, "1", "1", "1", "2", "2", "1"]
    turns = talk(*intake)
    assert turns[-1].snapshot.answers.get("who") == "self", turns[-1].snapshot.state
    assert keys("de bawa parang skarang", *intake)[0] == "emergency.violence"


def test_who_needs_help_another_does_not_make_the_writer_a_witness() -> None:
    """A mother in danger with her children answers "children" (or "family") at who needs
    help: she is still written to as one in danger (a walk-through found her told "jangan
    masuk sendiri ke tempat yang berbahaya")."""
    intake = ["halo", "1", "3", "1", "2", "2", "2"]  # chat, no danger, agree, adult, dv, child
    turns = talk(*intake)
    assert turns[-1].snapshot.answers.get("who") == "child", turns[-1].snapshot.state
    key = keys("iya de pegang parang skarang", *intake)[0]
    assert key == "emergency.violence", key


def _measure(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Per kind (self, other, both): (messages read as danger, of them read as another's)."""
    out = {}
    for kind in ("self", "other", "both"):
        scans = [s for m in rows if m["about"] == kind and (s := CRISIS.scan(m["text"]))]
        out[kind] = (len(scans), sum(s.other and focus_of(s) != "selfharm" for s in scans))
    return out


def test_who_is_in_danger_is_read_on_the_tuning_set() -> None:
    got = _measure(_rows("someone_else.yaml"))
    assert got["other"][1] / got["other"][0] >= 0.85, got
    assert got["self"][1] <= 1 and got["both"][1] <= 2, got


def test_who_is_in_danger_is_read_in_messages_nobody_tuned_for() -> None:
    """The held-out round: 43 of 57 the day it came, no writer in danger misread, 4 of 20
    where both were (its header)."""
    got = _measure(_rows("someone_else_heldout.yaml"))
    assert got["other"][1] >= 43 and got["self"][1] == 0 and got["both"][1] <= 4, got


@pytest.mark.parametrize("text", [
    # a man "dari kampung sebelah" (a walk-through: a woman who was raped read the witness's
    # "bawa korban ke tempat aman"), a husband "di kamar sebelah"
    "bulan lalu sa diperkosa sama laki2 dari kampung sebelah, skarang de pu keluarga datang",
    "paitua pukul sa tadi, skarang de tidur di kamar sebelah",
])
def test_a_place_next_door_does_not_make_the_writer_a_witness(text: str) -> None:
    assert not keys(text)[0].endswith(".other"), (text, keys(text))


# Carers telling of someone who wants to die, as a walk-through's husband wrote, and writers
# at risk themselves who name someone else in the same message (never to be read as carers).
CARERS = [
    "Malam kaka. sa mo minta tolong soal sa pu maitua. so 3 minggu de tidur trus, tra mau "
    "makan, menangis sendiri. tadi malam de bilang 'lebih baik sa pergi dari dunia ini'. sa "
    "takut skali. sa harus bikin apa",
    "bukan sa kaka, sa aman. sa pu maitua yg mo bunuh diri",
    "sa pu anak bilang de mo bunuh diri",
    "sa takut de bunuh diri, de su 2 hari tra mau bicara",
    "istri saya bilang mau mati saja, dia tidak mau makan",
    "paitua su ambil tali di belakang, de mo gantung diri",
]
WRITERS = [
    "sa mo mati saja", "mama bilang sa malas. mending mati saja",
    "sa cape hidup, suami saya tra peduli", "paitua bilang sa tra berguna, sa mo bunuh diri",
    "sa pu anak meninggal, sa juga mo mati", "de bilang sa gila. sa rasa mo gantung diri",
]


@pytest.mark.parametrize("text", CARERS)
def test_a_carer_of_someone_who_wants_to_die_gets_the_carers_texts(text: str) -> None:
    """"Nyawa Anda berharga... minta orang menemani Anda" had gone to a husband whose wife
    wanted to die, and the suicide questions were asked of him: now the texts for the one
    who cares ("jangan tinggalkan dia sendirian"), and the case says whose words they were."""
    turn = talk(text)[0]
    assert turn.replies[0].key in ("crisis.p1.selfharm.other", "emergency.selfharm.other"), \
        [r.key for r in turn.replies]
    assert "crisis_selfharm_other" in turn.snapshot.flags
    assert "crisis_selfharm" not in turn.snapshot.flags  # no ASQ of the writer
    assert "Nyawa Anda berharga" not in said(turn)


@pytest.mark.parametrize("text", WRITERS)
def test_a_writer_who_wants_to_die_is_never_read_as_a_carer(text: str) -> None:
    turn = talk(text)[0]
    assert not turn.replies[0].key.endswith(".other"), [r.key for r in turn.replies]
    assert "crisis_selfharm" in turn.snapshot.flags


def test_the_carer_still_in_danger_is_told_not_to_leave_them_alone() -> None:
    _, _, still = talk(CARERS[0], "bukan sa kaka, sa aman. sa pu maitua yg mo bunuh diri",
                       "masih dalam bahaya")
    assert still.replies[0].key == "emergency.still_ack.selfharm.other"
    _, helped = talk(CARERS[0], "tolong kaka cepat")  # help asked: still for the carer
    assert helped.replies[0].key == "emergency.selfharm.other"
    assert "Jangan tinggalkan dia sendirian" in said(still)


def test_a_pastor_telling_of_a_woman_of_his_congregation_is_a_witness() -> None:
    """Walk S: "Sy pendeta ... Ada satu mama jemaat yg sering dipukul suaminya, kemarin dia
    datang ke pastori dgn muka lebam" read "Keselamatan Anda yang utama ... tetap diam",
    written to the woman beaten. He gets the texts for someone telling of another; "sa yang
    sering dipukul" is still the writer's own danger."""
    pastor = ("Selamat siang. Sy pendeta di gereja kami di Kwamki. Ada satu mama jemaat yg "
              "sering dipukul suaminya, kemarin dia datang ke pastori dgn muka lebam.")
    assert CRISIS.scan(pastor).other
    assert keys(pastor)[0].endswith(".other"), keys(pastor)
    assert "Keselamatan Anda yang utama" not in said(talk(pastor)[0])
    assert not CRISIS.scan("sa yang sering dipukul paitua").other


def test_a_witness_still_worried_is_not_told_she_is_the_one_in_danger() -> None:
    """Walk S: a neighbour who heard a child beaten next door ("sa takut masuk") answered
    "still in danger", then words that answered no question, and read "petugas LK3 sudah
    tahu bahwa Anda masih dalam bahaya". She reads that staff know the person she told of is
    in danger, and not to go in alone."""
    story = ("kaka sa pu tetangga pu anak kecil dipukul terus tiap malam, skarang sa dengar de "
             "menangis kencang skali di sebelah. sa takut masuk")
    turns = talk(story, "2", "1", "2", "dewasa", "anak tetangga", "de kira2 6 tahun")
    last = turns[-1]
    assert last.replies[0].key == "reprompt_afraid.other", last.replies
    text = said(last)
    assert "orang yang Anda ceritakan masih dalam bahaya" in text
    assert "Jangan masuk sendiri" in text and "bahwa Anda masih" not in text
