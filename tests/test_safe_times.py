"""The safe time to contact a family is a time: what is read back to them in the closing, and
what a counselor keeps to when calling a woman whose husband may hold the phone."""

from __future__ import annotations

import pytest

from tests.test_danger_protocol import say, snapshot_at

NOT_TIMES = ["ya", "The parents drink a lot. This happened before too.", "ok kaka",
             "1"]  # a choice's number by habit (a re-check: "waktu aman yang Anda sebut: 1")
TIMES = ["sore2 jam 4 ke atas, pagi sa ke kebun", "kalo de tra ada di rumah", "pagi",
         "jam kerja saja", "after 5 pm", "senin sampai jumat", "10.00"]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_an_answer_without_a_time_is_asked_again_once(text: str) -> None:
    """"ya", or a story, was read back as the safe time (a walk-through: "Petugas akan
    berusaha memakai waktu aman yang Anda sebut: ya."): asked again once, with examples;
    a second answer is taken as it comes (no one is held at a question forever)."""
    first = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert [r.key for r in first.replies] == ["safe_times.not_time"]
    assert "safe_times" not in first.snapshot.answers
    second = say(first.snapshot, text)
    assert second.snapshot.answers["safe_times"] == text


@pytest.mark.parametrize("text", TIMES)
def test_a_time_is_kept_as_said(text: str) -> None:
    """Times in words, relative to the one who hurts, or in numbers are kept; "jam kerja
    saja" is a time here, not a question about the office hours."""
    turn = say(snapshot_at("safe_times", category="dv", who="self"), text)
    assert turn.snapshot.answers["safe_times"] == text
    assert turn.snapshot.state == "leave_message"
