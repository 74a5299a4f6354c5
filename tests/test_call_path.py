"""The "call me" path: a family that changes its mind about being phoned; and the child-age
question for a son or daughter who is grown.

Found in a walk-through: at the short consent for a phone call, "bukan, sa mau chat" was
read as a refusal, and the family was sent away with the helpline numbers and its answers
forgotten. Chat instead is now a choice there, said in words too ("jangan telpon, de bisa
dengar"): the chat path's consent comes next and nothing is refused.
"""

from __future__ import annotations

import pytest

from tests.test_emergency_question import talk

TO_CALL = ("halo", "2", "3")  # be phoned, no danger now: the short consent for a call


@pytest.mark.parametrize("words", ["sa mau chat saja", "tra usah telpon, chat saja kaka",
                                   "jangan telpon, de bisa dengar", "3"])
def test_chat_instead_of_a_call_goes_on_to_the_chat_consent(words: str) -> None:
    *_, changed = talk(*TO_CALL, words)
    snap = changed.snapshot
    assert snap.state == "consent", words
    assert snap.answers["mode"] == "chat" and "consent" not in snap.answers
    assert "consent_refused" not in snap.flags
    # "tra usah telpon": also the word that no one will phone (notice chat_only)
    assert [e.kind for e in changed.events if e.kind != "noticed"] == ["mode_changed"]
    *_, agreed = talk(*TO_CALL, words, "1")
    assert agreed.snapshot.state == "age"  # the intake goes on, in the chat


def test_a_mixed_answer_is_asked_again_not_taken_as_a_refusal() -> None:
    *_, turn = talk(*TO_CALL, "bukan, sa mau chat saja")
    assert turn.snapshot.state == "consent_call"
    assert "consent_refused" not in turn.snapshot.flags


@pytest.mark.parametrize("words", ["tidak setuju", "2"])
def test_a_refusal_is_still_a_refusal(words: str) -> None:
    *_, turn = talk(*TO_CALL, words)
    assert turn.snapshot.state == "refused"


# -- the child's age, when the "child" is grown -----------------------------------------------

CHILD_AGE = ("halo", "1", "3", "1", "2", "2", "2")  # ... domestic violence, who: a child


@pytest.mark.parametrize(("words", "band"), [
    ("de su 27 tahun", "adult"), ("sa pu anak perempuan, de su 27 tahun", "adult"),
    ("su dewasa, su kawin", "adult"), ("4", "adult"), ("de 10 tahun", "6-12"),
    ("dia umur 3", "0-5")])
def test_a_grown_son_or_daughter_is_not_asked_the_childs_age_again_and_again(
        words: str, band: str) -> None:
    """A walk-through: a mother telling of her daughter (27) was asked "Berapa usia anak
    itu?" five times, its choices ending at 17, and the case recorded a minor."""
    *_, turn = talk(*CHILD_AGE, words)
    assert turn.snapshot.answers.get("child_age") == band, words
    assert turn.snapshot.state == "distrik"
