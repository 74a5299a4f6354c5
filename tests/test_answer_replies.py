"""How the engine reads realistic replies to its questions (tests/answer_replies.py): the
share a careful person would understand that the engine takes (or offers for one "iya") as
they would, the replies it takes as another choice (the costly error), and those it takes
where a person would have asked again.

Figures of 2026-12-06 (README "Answers as families write them"), understood in the turn
(and with offers for one "iya"):
- answers_replies.yaml (round B, the words were tuned on it: a floor against going back):
  0.45 -> 0.67 (0.77), 1 taken wrongly;
- answers_heldout.yaml (rounds A, C and D): 0.45 before; unseen, the day each came, A 0.56
  (0.62), C 0.54 (0.63), D (written after everything else) 0.57 (0.66); after a few fixes
  drawn from their misses 0.57 (0.67), 4 taken wrongly (3 before), 51 of 238 taken where a
  person would ask (31 before).
- walk U-16 (2026-12-08): "ok", "sip", a 👍 or 🙏, "sa mo tanya", "sa mau cerita" alone at
  the greeting are "Lanjut chat", the lead's decision (a loop of "Maaf, saya belum mengerti"
  before); one greeting reply the held-out file labels "ask again" is now taken as chat
  (guessed 53 -> 54). Which one was not looked at: the file is not tuned on.
"""

from __future__ import annotations

import pytest

from flows.engine import Engine
from tests.answer_replies import load, score

ENGINE = Engine.load()


@pytest.mark.parametrize(("name", "recall", "wrong", "guessed"), [
    ("answers_replies.yaml", 0.75, 1, 20),
    ("answers_heldout.yaml", 0.65, 4, 54),
])
def test_replies_are_understood_as_a_person_would(name: str, recall: float, wrong: int,
                                                  guessed: int) -> None:
    total, _, errors = score(ENGINE, load(name))
    seen = [(r.question, r.text, got) for r, got in errors]
    assert total.recall >= recall, f"{total.recall:.2f} of {total.understood}"
    assert total.wrong <= wrong, [e for e, (r, _) in zip(seen, errors, strict=True)
                                  if r.want != "unclear"]
    assert total.guessed <= guessed, [e for e, (r, _) in zip(seen, errors, strict=True)
                                      if r.want == "unclear"]
