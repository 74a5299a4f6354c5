"""Answers taken back: "salah pilih kk", "bukan ekonomi, sa pu masalah deng paitua".

One rule. A message that begins by saying an answer was wrong takes that answer back and
asks its question again; what follows in the message is read as the answer to that question,
as any answer is (taken, offered "Maksud Anda ...?", or asked again), and an answer taken so
is said back ("Saya catat: ..."). Which answer:

- the one it names by its own words ("bukan ekonomi", "bukan sa"), among the last MAX_BACK
  choices answered in this intake and still kept, while a question of the intake is asked
  (not at rest, nor in a safety question). The answers given after it go with it: their
  questions come again, since the new answer may change which are asked (a child's problem
  asks the child's age). Not a yes, no or don't know ("bukan iya"): those are corrected by
  "salah pencet" right after;
- the one whose question it names ("sa pu umur salah tulis", "distrik salah": phrases.yaml
  `corrections.about`), however long ago in this intake, while a question of the intake is
  asked; at rest such words are UBAH, the right to correct;
- else the answer just before: the last answer given (a choice, a text, a skip), while the
  family is still at the question it led to. Messages that answered nothing in between
  (asked again, a question about the service) leave it so; words of danger in between do
  not: "salah ketik" is then about those words, recorded for staff, and they still count
  (never below P1).

Never at rest: a refusal is reconsidered in words ("ok sa setuju"), a closed intake is
corrected through UBAH and staff. What an answer set off stays: an alert once sent, danger
words' flags, a case opened. A second correction right after a take-back takes back no more
(naming an answer still goes back to it). How a correction begins is data:
flows/phrases.yaml `mistyped` and `corrections`. Without a comma, two beginnings in a row
("bukan ekonomi sa salah pilih", "salah pilih kk bukan ekonomi ini soal pukul istri"), or a
question named with how it went wrong ("sa pu umur salah tulis sa 17") begin one; one
beginning alone before more words is a story ("sa salah pilih suami", "bukan sa yang
salah", "bukan sa tapi de yang mulai", "umur sa salah di KK").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.actions import (
    ANSWERED,
    CRISIS_FLAGS,
    FROM_WORDS,
    REPLAY,
    RETURN_TO,
    STORY,
    TOLD,
    StepModel,
)
from flows.steps import Stepper
from flows.text import fold
from flows.types import Event, Reply

MAX_BACK = 3  # answers named back by their words at most: those still on the family's screen
KEPT = 40  # answers of an intake remembered (more than it asks): its question may be named
CHAIN_WORDS = 8  # words of a beginning read without a comma after it
# a beginning without a comma: only where one of these words is in it
_MAY_BEGIN = re.compile(r"\b(?:salah|slh|sala|keliru|bukan|bkn|bukannya|not|wrong|kepencet|"
                        r"ketekan|kepilih|ralat)\b")
_HOW = re.compile(r"\b(?:tulis|ditulis|ketik|diketik|isi|diisi|pilih|pencet|tekan|jawab)$")
# words of danger came after the last answer (or before any): "salah ketik" is about them
DANGER_LAST = "_danger_last"
_SENTENCE = re.compile(r"[^.,;!?\n]+")  # flows.text.SENTENCES' parts, with their places


@dataclass(frozen=True)
class Phrasing:
    """How a correction begins (flows/phrases.yaml `corrections`)."""

    aside: re.Pattern[str]
    weak: re.Pattern[str]
    named: re.Pattern[str]
    meant: re.Pattern[str]
    about: re.Pattern[str]
    about_questions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Correction:
    """A message that takes an answer back."""

    question: str | None  # the question whose answer it names; None: the answer just before
    rest: str  # what was meant, read as the answer to that question ("": it is asked again)
    weak: bool = False  # only "salah", "bukan", then what was meant


# -- which answers were given ----------------------------------------------------------------

def history(m: StepModel) -> list[list[Any]]:
    """[question, the state it led to (None: no longer "just before"), from danger words],
    oldest first (a snapshot of before holds one such entry alone)."""
    raw = m.answers.get(ANSWERED) or []
    return [list(raw)] if raw and isinstance(raw[0], str) else [list(e) for e in raw]


def record(m: StepModel, question: str, words: bool) -> None:
    """An answer given at `question` (read from danger words: `words`), now at m.state."""
    m.answers[ANSWERED] = [*history(m), [question, m.state, words]][-KEPT:]
    m.answers.pop(DANGER_LAST, None)


def settle(m: StepModel) -> None:
    """What came since the last answer is what a correction now means (words of danger):
    the answers stay nameable, none is "just before"."""
    entries = history(m)
    if entries and entries[-1][1] is not None:
        m.answers[ANSWERED] = [*entries[:-1], [entries[-1][0], None, entries[-1][2]]]
    m.answers[DANGER_LAST] = True


def just_before(m: StepModel) -> str | None:
    """The question the last answer was to, while the family is at the one it led to."""
    entries = history(m)
    return entries[-1][0] if entries and entries[-1][1] == m.state else None


def answered(m: StepModel) -> list[str]:
    """The questions answered in this intake whose answers may be named, latest first."""
    return [e[0] for e in reversed(history(m)[-MAX_BACK:])]


def long_ago(engine: Stepper, m: StepModel) -> list[str]:
    """The questions answered in this intake whose answers' words name them however long
    ago (`named_long_ago`: "bukan kwamki narama" at a safety question names the distrik)."""
    return [q for q in dict.fromkeys(str(e[0]) for e in history(m))
            if q in engine.flow.states and engine.flow.states[q].named_long_ago]


def asked_about(m: StepModel, phrasing: Phrasing, word: str) -> str | None:
    """The question `word` names ("umur": the age) answered in this intake, or None."""
    kept = {e[0] for e in history(m)}
    return next((q for q in phrasing.about_questions.get(word, ()) if q in kept), None)


# -- reading a message -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Head:
    """A beginning of a correction: the question it names (None: the answer just before)."""

    question: str | None
    weak: bool  # only "salah", "bukan"
    kind: str  # mistyped, named, about or weak
    said: str


@dataclass
class _Reader:
    """How to read a message's beginning; `about`: questions named so far, whose kept
    answer words may name however long ago ("umur salah, sa bukan 18 keatas, sa 17")."""

    phrasing: Phrasing
    mistyped: Callable[[str], bool]
    named: Callable[[str, list[str]], str | None]
    asked: Callable[[str], str | None]
    about: list[str] = field(default_factory=list)

    def head(self, said: str) -> _Head | None:
        """A sentence (or the words of one) that begins a correction."""
        if self.mistyped(said):
            return _Head(None, False, "mistyped", said)
        if (found := self.phrasing.named.fullmatch(said)) and \
                (question := self.named(found.group("named"), self.about)) is not None:
            return _Head(question, False, "named", said)
        if (found := self.phrasing.about.fullmatch(said)) and (question := self.asked(next(
                v for k, v in found.groupdict().items() if k.startswith("about") and v))):
            self.about.append(question)
            return _Head(question, False, "about", said)
        if self.phrasing.weak.fullmatch(said):
            return _Head(None, True, "weak", said)
        return None

    def chain(self, said: str, depth: int = 0) -> tuple[list[_Head], str]:
        """The beginnings one after another at the start of `said`, without a comma (the
        longest first), and the words after them."""
        if (whole := self.head(said)) is not None:
            return [whole], ""
        words = said.split()
        if depth > 2 or not _MAY_BEGIN.search(" ".join(words[:CHAIN_WORDS])):
            return [], said
        for n in range(min(len(words) - 1, CHAIN_WORDS), 0, -1):
            if (first := self.head(" ".join(words[:n]))) is not None:
                more, left = self.chain(" ".join(words[n:]), depth + 1)
                return [first, *more], left
        return [], said

    def lead(self, said: str) -> tuple[list[_Head], str] | None:
        """The beginnings of a sentence and what was meant after them in it, or None."""
        if (whole := self.head(said)) is not None:
            return [whole], ""
        cut = self.phrasing.meant.search(said)
        if cut is not None and cut.start() > 0:  # "aduh salah ketik maksudnya 3"
            heads, left = self.chain(said[:cut.start()].strip())
            if heads and not left:
                return heads, said[cut.end():]
        heads, left = self.chain(said)
        if not heads or all(h.weak for h in heads):
            return None
        strong = [h for h in heads if not h.weak]
        if not left or len(strong) > 1 or \
                (len(heads) == 2 and heads[0].weak and heads[1].kind == "named"):
            return heads, left  # "bukan ekonomi sa salah pilih", "salah bukan ekonomi"
        if heads[0].kind == "about" and _HOW.search(heads[0].said):
            return heads, left  # "sa pu umur salah tulis sa 17"
        self.about.clear()
        return None  # "sa salah pilih suami", "bukan sa yang salah"


def read(text: str, phrasing: Phrasing, mistyped: Callable[[str], bool],
         named: Callable[[str, list[str]], str | None],
         asked: Callable[[str], str | None] = lambda word: None) -> Correction | None:
    """The correction `text` begins with, or None. `mistyped`: a sentence says a wrong
    answer was given ("salah pilih kk"); `named`: the question whose kept answer the words
    name ("ekonomi"; among the last answers, or the questions named before), or None;
    `asked`: the question answered in this intake a word names ("umur"), or None."""
    reader = _Reader(phrasing, mistyped, named, asked)
    heads: list[str | None] = []  # each beginning's question (None: just before)
    weak = True
    rest = ""
    for part in _SENTENCE.finditer(text):
        said = fold(part.group())
        if not said:
            continue
        if heads and (lead := phrasing.meant.match(said)):  # "salah kk, maksudnya 3"
            rest = f"{said[lead.end():]}{text[part.end():]}"
            break
        found = reader.lead(said)
        if found is None:
            if phrasing.aside.fullmatch(said):
                continue  # "eh", "maaf kaka"
            rest = text[part.start():]
            if not heads or weak:  # "salah" alone before what was meant is no correction
                return None
            break
        heads += [h.question for h in found[0]]
        weak = weak and all(h.weak for h in found[0])
        if found[1]:
            rest = f"{found[1]}{text[part.end():]}"
            break
    if not heads:
        return None
    rest = rest.strip(" .,;!?\n")
    if weak and not rest:
        return None
    question = next((q for q in heads if q is not None), None)
    return Correction(question, rest, weak)


# -- taking it back --------------------------------------------------------------------------

def take_back(engine: Stepper, m: StepModel, question: str | None = None) -> str | None:
    """Take back the answer to `question` (named by its words), else the answer just before,
    and go back to its question; the question taken back, or None (nothing to take back)."""
    entries = history(m) if not engine.flow.states[m.state].end else []  # at rest: the
    # intake is over (refused: "ok sa setuju" begins again; the closing: UBAH and staff)
    at = next((i for i in range(len(entries) - 1, -1, -1) if entries[i][0] == question), None) \
        if question is not None else \
        (len(entries) - 1 if entries and entries[-1][1] == m.state else None)
    words = bool(entries[at][2]) if at is not None else False
    # the answer before, read from danger words ("sa mo mati, hp rusak" was none) or chosen
    # ("1" meant "3"): taken back, the question again; what it set off stays (a P0 alert
    # once sent, danger words' flags)
    hit = [f for f in m.flags if f in CRISIS_FLAGS]
    if hit and (words or (at is None and m.answers.get(DANGER_LAST))):  # the danger words
        # disputed: recorded, they still count (never below P1); not for a mistyped "1",
        # nor a second "salah pilih" after a correction, long after the danger words (walk
        # Q: a neighbour's report of blows shown to staff as "called a typo or a joke")
        m.answers.pop(DANGER_LAST, None)
        m.flag("crisis_disputed")
        m.events.append(Event("crisis_disputed", {"flags": hit}))
        m.replies.append(Reply("mistyped_ack"))
    if at is None or entries[at][0] not in engine.flow.states:
        return None
    back_to = str(entries[at][0])
    again = engine.flow.states[back_to].keeps_later  # None: all after it asked again
    stay = [e for e in entries[at + 1:] if again is not None and e[0] not in again and
            e[0] in engine.flow.states]  # (her age: the category, who, distrik... stay)
    gone = [e for e in entries[at:] if e not in stay]
    for taken in gone:  # and the answers given after it: asked again
        if taken[0] in engine.flow.states:
            save = engine.flow.states[taken[0]].save or ""
            m.answers.pop(save, None)
            m.answers.pop(f"{save}_media", None)  # (a voice note given as the account)
            if m.answers.pop(f"{save}{FROM_WORDS}", None) is not None:  # her age kept from her
                m.answers[STORY] = {k: v for k, v in (m.answers.get(STORY) or {}).items()
                                    if k != taken[0]}  # words, said wrong: not offered again
    if any(e[2] for e in gone):
        m.answers.pop(TOLD, None)  # the kind those words named is offered no more
    m.answers.pop(DANGER_LAST, None)
    m.answers.pop(REPLAY, None)
    if stay:  # reached again, passed with their answers (flows/moves.py pass_)
        m.answers[REPLAY] = [str(e[0]) for e in stay]
    kept = [[q, None, w] for q, _, w in [*entries[:at], *stay]]  # a second "salah
    # ketik": no further
    if kept:
        m.answers[ANSWERED] = kept
    else:
        m.answers.pop(ANSWERED, None)
    if engine.flow.states[m.state].interrupt:
        m.answers.pop(RETURN_TO, None)  # ("1" at the danger question brought the
        # emergency question: the family goes back to the danger question)
    m.events.append(Event("answer_taken_back", {"state": back_to}))
    engine.enter(m, back_to)
    return back_to
