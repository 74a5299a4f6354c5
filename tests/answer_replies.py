"""What the engine takes a family's reply to one of its questions to mean, for the files of
realistic replies (tests/data/answers_*.yaml): each reply with the question it answers and
what a careful person at LK3's desk would take it to mean (`unclear`: they would ask again).

`python -m tests.answer_replies FILE [-v]` prints the figures per question.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from flows.actions import OFFER, RETURN_TO
from flows.engine import Engine
from flows.types import Inbound, Snapshot

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # a Monday, 09:30 WIT
UNCLEAR = "unclear"
OFFERED = "offered:"  # taken_as: a choice offered for "iya", not taken
KEPT = "kept"  # taken_as: words of a place kept for staff, no choice taken (`unmatched`)
_BASE = {"mode": "chat", "danger": "no", "consent": "agree", "age": "adult"}
_AT_RISK = {**_BASE, "category": "dv", "who": "self", "distrik": "wania",
            "kampung": "skipped"}
# What a family has answered before each question (the risk questions: after a story of
# domestic violence; the ASQ questions: after "very sad"); the rest: after consent.
_BEFORE: dict[str, dict[str, Any]] = {
    "greeting": {}, "danger": {"mode": "chat"}, "consent": {"mode": "chat", "danger": "no"},
    "age": {"mode": "chat", "danger": "no", "consent": "agree"},
    "child_intro": {**_BASE, "age": "under18"}, "category": _BASE,
    "who": {**_BASE, "category": "dv"},
    "child_age": {**_BASE, "category": "child", "who": "child"},
    "distrik": {**_BASE, "category": "dv", "who": "self"},
}


@dataclass(frozen=True)
class Reply:
    question: str
    text: str
    want: str


def load(name: str) -> list[Reply]:
    raw = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return [Reply(str(r["q"]), str(r["text"]), _value(r["want"])) for r in raw["replies"]]


def _value(want: Any) -> str:
    """`want: yes` unquoted is YAML's true: the choice value "yes" was meant."""
    return {True: "yes", False: "no"}.get(want, str(want)) if isinstance(want, bool) \
        else str(want)


def before(engine: Engine, question: str) -> Snapshot:
    """A conversation resting at `question`, with what a family answered before it."""
    flow = engine.flow
    answers = dict(_BEFORE[question] if question in _BEFORE else
                   {**_AT_RISK, "category": "selfharm"} if question.startswith("asq") else
                   _AT_RISK)
    if flow.states[question].interrupt:
        answers[RETURN_TO] = "who"
    return Snapshot(flow.name, question, "id", answers, (), 0, flow.version, None,
                    NOW - timedelta(minutes=1))


def taken_as(engine: Engine, reply: Reply) -> str:
    """The choice the engine took the reply for, or `unclear` where it asked again (or
    answered something else first: danger words, a keyword)."""
    snap = before(engine, reply.question)
    turn = engine.step(snap, Inbound("test", "u1", "m1", text=reply.text), NOW, "id")
    state = engine.flow.states[reply.question]
    after = turn.snapshot
    if state.unmatched and after.answers.get(state.unmatched[0]) == reply.text:
        return KEPT  # "dekat pasar lama": said back, "staff will confirm the distrik"
    if state.save and state.save in after.answers and \
            after.answers[state.save] != snap.answers.get(state.save, object()):
        return str(after.answers[state.save])
    if reply.question.startswith("consent") and after.state == "refused":
        return "refuse"  # refusing forgets the answers, by design
    if reply.question == "resume_check" and after.state != reply.question:
        return "restart" if after.state == engine.flow.initial else "continue"
    asked, value = after.answers.get(OFFER) or (None, None)
    if asked == reply.question:
        return f"{OFFERED}{value}"  # "Maksud Anda: ...? Balas IYA"
    return UNCLEAR


@dataclass
class Score:
    right: int = 0  # a reply a person understands, taken as they would
    offered: int = 0  # ...offered as they would take it: one "iya" more
    missed: int = 0  # asked again (or offered another choice) where a person understood
    wrong: int = 0  # taken as another choice than a person would: the costly error
    guessed: int = 0  # taken as a choice where a person would have asked again
    asked: int = 0  # asked again, as a person would
    # words of a place kept for staff to place, said back as such: no choice taken, so
    # neither wrong nor guessed; where a person understood the choice, not understood here
    kept: int = 0
    kept_unclear: int = 0  # ...where a person would have asked again

    @property
    def understood(self) -> int:
        return self.right + self.offered + self.missed + self.wrong + self.kept

    @property
    def recall(self) -> float:
        """Understood in this turn, or offered for one "iya"."""
        return (self.right + self.offered) / self.understood if self.understood else 1.0


def score(engine: Engine, replies: list[Reply]) -> tuple[Score, dict[str, Score],
                                                             list[tuple[Reply, str]]]:
    total, per = Score(), defaultdict(Score)
    errors = []
    for reply in replies:
        got = taken_as(engine, reply)
        offer = got.removeprefix(OFFERED) if got.startswith(OFFERED) else None
        if got == KEPT:
            field = "kept_unclear" if reply.want == UNCLEAR else "kept"
        elif reply.want == UNCLEAR:
            field = "guessed" if got != UNCLEAR and offer is None else "asked"
        elif offer is not None:
            field = "offered" if offer == reply.want else "missed"
        else:
            field = "right" if got == reply.want else "missed" if got == UNCLEAR else "wrong"
        for s in (total, per[reply.question]):
            setattr(s, field, getattr(s, field) + 1)
        if field in ("missed", "wrong", "guessed", "kept", "kept_unclear") or \
                (offer and field == "asked"):
            errors.append((reply, got))
    return total, dict(per), errors


def main(args: list[str]) -> None:
    engine = Engine.load()
    total, per, errors = score(engine, load(args[0]))
    for question, s in sorted(per.items()):
        kept = f"  kept {s.kept}+{s.kept_unclear}" if s.kept or s.kept_unclear else ""
        print(f"{question:18} {s.right:3}+{s.offered:<2}/{s.understood:<3} ({s.recall:.2f})  "
              f"wrong {s.wrong}  guessed {s.guessed}{kept}")
    print(f"{'all':18} {total.right:3}+{total.offered:<2}/{total.understood:<3} "
          f"({total.recall:.2f})  wrong {total.wrong}  guessed {total.guessed} of "
          f"{total.guessed + total.asked}  (right now + offered for 'iya' / understood); "
          f"places kept for staff {total.kept}+{total.kept_unclear}")
    if "-v" in args:
        for reply, got in sorted(errors, key=lambda e: (e[0].question, e[0].want)):
            print(f"  {reply.question:16} want {reply.want:12} got {got:12} {reply.text!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
