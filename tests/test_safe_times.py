"""The safe time to contact a family is a time: what is read back to them in the closing, and
what a counselor keeps to when calling a woman whose husband may hold the phone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.casework import labels
from tests.test_danger_protocol import ENGINE, say, snapshot_at, words

NOT_TIMES = ["ya", "The parents drink a lot. This happened before too.", "ok kaka",
             "1",  # a choice's number by habit (a re-check: "waktu aman yang Anda sebut: 1")
             # a count and "pukul" in a story (walk S: both kept as the safe time)
             "sa pu anak 2 juga su takut sama sa",
             "de cuma dorong sedikit, tra pukul. sa juga salah"]
TIMES = ["sore2 jam 4 ke atas, pagi sa ke kebun", "kalo de tra ada di rumah", "pagi",
         "jam kerja saja", "after 5 pm", "senin sampai jumat", "10.00", "pukul 9",
         "08-11", "2pm", "8 pagi", "10"]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_an_answer_without_a_time_is_asked_again_once(text: str) -> None:
    """"ya", or a story, was read back as the safe time (a walk-through: "Petugas akan
    berusaha memakai waktu aman yang Anda sebut: ya."): asked again once, with examples;
    a second answer is taken as it comes (no one is held at a question forever)."""
    first = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert [r.key for r in first.replies] == ["safe_times.not_time"]
    assert "safe_times" not in first.snapshot.answers
    # written again a minute later (the same story at once is one message sent twice)
    again = replace(first.snapshot, updated_at=first.snapshot.updated_at - timedelta(minutes=1))
    second = say(again, text)
    assert second.snapshot.answers["safe_times"] == text


@pytest.mark.parametrize("text", TIMES)
def test_a_time_is_kept_as_said(text: str) -> None:
    """Times in words, relative to the one who hurts, or in numbers are kept; "jam kerja
    saja" is a time here, not a question about the office hours."""
    turn = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert turn.snapshot.answers["safe_times"] == text
    assert turn.snapshot.state == "leave_message"


AFTER_HOURS = ["malam jam 8 saja, siang paitua di rumah", "jm 7 mlm", "sabtu pagi",
               "jam 20.00", "after 5 pm in the evening", "sore2 jam 4 ke atas, pagi sa ke kebun",
               "jam 5 pagi", "jgn pagi, malam saja", "sore jam 4 tapi jangan hari sabtu",
               # said in English (walk O: "evenings after my shift, 7pm" was read back as
               # the time staff would keep to)
               "evenings after my shift, 7pm", "7pm", "at 9 pm", "after 7.30 p.m.",
               "weekends only", "6am before work"]
IN_HOURS = ["pagi", "kalo paitua su kerja, jam 9 sampe 12", "siang jam 12", "10.00",
            "senin sampai jumat", "kalo de tra ada di rumah",
            # a pastor's 12 to 14 (walk K: "jam 2" was read as 02.00)
            "siang jam 12 sampe jam 2, pagi sa ibadah", "jam 2 siang",
            # a time ruled out is not the time named (a re-check of walk N: "any time, only
            # not at night" was told the time named was outside the hours)
            "kapan sj asal jgn malam", "tra bisa hari minggu", "kecuali sabtu minggu",
            "jangan jam 8 malam, siang saja", "anytime except evening", "not at night",
            "2pm", "at 10am", "12pm lunch break", "anytime except evenings"]


@pytest.mark.parametrize("text", AFTER_HOURS)
def test_a_time_outside_service_hours_is_kept_and_the_hours_are_said(text: str) -> None:
    """"malam jam 8 saja, siang paitua di rumah" was read back as the time staff would try
    (a walk-through), though they call only in service hours: kept, the family told the
    hours and that staff will write first, and staff see that among the case's reasons."""
    turn = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert turn.snapshot.answers["safe_times"] == text
    assert turn.replies[0].key == "safe_times.after_hours"
    assert "safe_times_after_hours" in turn.snapshot.flags
    assert turn.snapshot.state == "leave_message"


@pytest.mark.parametrize("text", IN_HOURS)
def test_a_time_in_service_hours_is_not_told_the_hours(text: str) -> None:
    turn = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert "safe_times.after_hours" not in [r.key for r in turn.replies]
    assert "safe_times_after_hours" not in turn.snapshot.flags


@pytest.mark.parametrize(("contact", "calls"), [
    ("chat", False), ("visit", False), ("skipped", False), ("phone_this", True),
    ("phone_other", True)])
def test_a_family_who_chose_no_call_is_not_told_of_calls(contact: str, calls: bool) -> None:
    """Walk O: a woman who chose this chat, and wrote "malam jam 8 sampe jam 10, habis anak2
    tidur", read "Petugas LK3 menelepon pada jam layanan ... tidak langsung menelepon": with
    no call chosen, staff work in service hours and will write first in this chat then."""
    turn = say(snapshot_at("safe_times", category="dv", who="self", contact=contact),
               "malam jam 8 sampe jam 10, habis anak2 tidur")
    said = words(turn)
    assert ("menelepon" in said) is calls, said
    assert "Senin–Jumat 08.00–15.00 WIT" in said and "menulis dulu" in said
    if not calls:
        assert "di chat ini pada jam layanan" in said


def test_staff_read_why_they_must_write_first() -> None:
    """The case of a family whose safe time is outside hours says so, in words."""
    turn = say(snapshot_at("safe_times", category="dv", who="self"), "malam saja")
    assessed = ENGINE.bundle.triage.assess(
        {**turn.snapshot.answers, **{f: "yes" for f in turn.snapshot.flags}})
    assert "safe_times_after_hours" in assessed.reasons
    assert labels.reasons(["safe_times_after_hours"]) == (
        "waktu aman yang disebut di luar jam layanan: tulis dulu lewat chat sebelum menelepon")


def test_a_p0_family_is_not_told_staff_call_only_in_service_hours() -> None:
    """Staff answer a P0 at any hour: no "we call Monday-Friday" to a woman in danger now,
    and staff do not read "write in the chat before calling" on her case."""
    turn = say(snapshot_at("safe_times", category="dv", who="self", perpetrator_near="yes",
                           weapon="yes"), "malam saja")
    assert "safe_times.after_hours" not in [r.key for r in turn.replies]
    assert "safe_times_after_hours" not in turn.snapshot.flags  # nor "write first" to staff


def test_not_knowing_what_a_codeword_is_gets_it_explained_not_saved() -> None:
    """A grandmother's "sa tra tau itu" at the codeword question was saved as her codeword (a
    walk-through): what a codeword is, and the question again; a word is then the codeword."""
    first = say(snapshot_at("codeword", category="dv", who="self"), "sa tra tau itu")
    assert first.replies[0].key == "codeword.plain"
    assert "codeword" not in first.snapshot.answers
    assert say(first.snapshot, "pisang").snapshot.answers["codeword"] == "pisang"


def test_any_time_said_to_someone_called_nak_is_no_time() -> None:
    """Walk K: a grandmother's "kapan sj nak" (any time, child) was kept and read back as
    the safe time; it is the skip, as "kapan saja" is."""
    turn = say(snapshot_at("safe_times", category="dv", who="self"), "kapan sj nak")
    assert turn.snapshot.answers["safe_times"] == "skipped"
