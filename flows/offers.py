"""What a story answers for questions still to come, offered when each is asked ("Maksud
Anda: ...? Balas IYA"), and a place told in words kept for staff."""

from __future__ import annotations

import re

from flows.actions import FROM_WORDS, OFFER, SKIP_WORDS, STORY, TOLD, StepModel
from flows.answers import Answers
from flows.choices import by_police, choice, guess
from flows.definition import POLICE_HARM, ChoiceSpec, Flow, StateSpec
from flows.runner import Runner
from flows.text import fold
from flows.types import Reply
from flows.wording import form

CLAUSES = re.compile(r"[,.;]| tapi | tp | but ", re.IGNORECASE)  # "sa tra tau, dekat pasar"

STORY_WORDS = 4  # a shorter message that answers nothing is no story to remember
# an answer's own words beside its choice, read for questions to come from this many: "de 9
# tahun" at who needs help offers 6-12 at the child's age (walk T: asked plainly)
ANSWER_WORDS = 2
KEPT_WORDS, KEPT_CHARS = 8, 80  # a place told in words (`unmatched`): a few words, no story
# a story's "tidak tahu harus bagaimana" or "lain kali" is no answer about anything
# "outside Mimika" neither: a story names where the writer is as often as where the one who
# needs help is ("sa kerja di Jayapura", a daughter about her mother in SP3, a walk-through)
NOT_FROM_STORY = frozenset({"unknown", "other", "outside"})


def offering(flow: Flow, answers: Answers) -> tuple[StateSpec, ...]:
    """The questions a story may answer for later (`offer` and `from_story` in
    answers.yaml: the distrik, the category; the age by `own_age`, the writer's own; not
    "who needs help": in "sa pu paitua pukul sa" the husband is named, and the writer
    needs the help)."""
    return tuple(s for s in flow.states.values()
                 if s.save and not s.end and flow.choices_of(s)
                 and (q := answers.question(s)) is not None
                 and (q.offer or bool(q.own_self)) and q.from_story)


def suggested(engine: Runner, m: StepModel, state: StateSpec) -> ChoiceSpec | None:
    """The choice offered at this question ("iya" takes it): the one a sentence named
    among other words ("anak sa tra mo sekolah"), else the one an earlier story's
    danger words named (their kind), else the one its other words named (a place)."""
    asked, value = m.answers.get(OFFER) or (None, None)
    if asked == state.name:
        return choice(engine, state, value)
    told = by_police(m, m.answers.get(TOLD))
    if told == POLICE_HARM and state.danger_choice(told) is not None:
        return None  # no offer: beaten by the police is none of the listed problems
    return choice(engine, state, state.danger_choice(told)) or \
        choice(engine, state, m.answers.get(STORY, {}).get(state.name))


def offer_taken(engine: Runner, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
    """ "iya" to "Maksud Anda: ...? Balas IYA" is what was offered, even where "iya" is also
    a choice's own word ("iya" = keep chatting, at the greeting). Not at a question whose
    choices are yes and no: there "iya" is its own answer."""
    offered = suggested(engine, m, state)
    if offered is None or any(c.value == "yes" for c in engine.flow.choices_of(state)):
        return None
    return offered if engine.bundle.answers.shared_value(text) == "yes" else None


def names(engine: Runner, m: StepModel, state: StateSpec, text: str,
          offered: ChoiceSpec) -> bool:
    """A reply to an offer whose own words name the choice offered ("sa ini tua su tra
    kuat" to "Lansia...? Balas IYA") takes it, as "iya" does."""
    guessed = guess(engine, m, state, text)
    return guessed is not None and guessed.value == offered.value


def remember(engine: Runner, m: StepModel, text: str, least: int = STORY_WORDS) -> None:
    """A message that answered nothing (a story, often the first message), or an answer's
    words (`least`: ANSWER_WORDS): what it names for questions still to come that offer
    ("sa tinggal di kuala kencana" for the distrik), kept as choice values only, offered
    when each is asked."""
    if len(text.split()) < least:
        return
    story = dict(m.answers.get(STORY) or {})
    for state in engine.offering:
        if state.name != m.state and state.save not in m.answers:
            guessed = guess(engine, m, state, text)
            if guessed is not None and guessed.value not in NOT_FROM_STORY:
                story[state.name] = guessed.value
    if story:
        m.answers[STORY] = story


def told_stands(engine: Runner, m: StepModel, state: StateSpec,
                picked: ChoiceSpec) -> ChoiceSpec:
    """An age the writer told in her own words ("sa umur 15 kk", "sa 16 thn"), offered at
    the age question, stands where she answers it with no age ("tra tau", LEWATI, "tidak
    mau jawab"): only an age she names changes it (walk U-5: a girl of 15 who said "tra
    tau" was stored as not saying, and the rest was the adult intake: "Anda", no trusted
    adult, SAPA for TePSA). Kept with `<save>_from: words`, which staff read beside it."""
    m.answers.pop(f"{state.save}{FROM_WORDS}", None)
    q = engine.bundle.answers.question(state)
    told = choice(engine, state, (m.answers.get(STORY) or {}).get(state.name))
    if q is None or not q.own_self or told is None or \
            picked.value in {value for _, _, value in q.ages}:
        return picked
    m.answers[f"{state.save}{FROM_WORDS}"] = "words"
    m.replies.append(Reply(form(engine, m, f"{state.prompt}.told.{told.value}")))
    return told


def kept(engine: Runner, m: StepModel, state: StateSpec, text: str,
         place: str | None = None) -> ChoiceSpec | None:
    """A few words that tell a place but name no choice (or `place`, those words of
    `text`), kept as the answer of the text question `unmatched` names, and its choice
    (walk O: "di dekat pasar lama" at the distrik question had the 21-line list again):
    not a yes, a no or "tra tau", not a story; a place word in it (answers.yaml `places`),
    or one name written again after the list that is no word the bot knows (walk S:
    "sore", "chat", "LEWATI" were kept as places)."""
    if state.unmatched is None or "?" in text:
        return None
    if place is None and _a_place(engine, state, text, names=m.misses > 0):
        place = text
    if place is None:
        return None
    key, value = state.unmatched
    m.answers[key] = place[:KEPT_CHARS]
    m.replies.append(Reply(form(engine, m, f"{state.prompt}.kept"), {"place": m.answers[key]}))
    return choice(engine, state, value)


def beside_unsure(engine: Runner, m: StepModel, state: StateSpec, text: str) -> str | None:
    """The part of `text` that tells a place where the rest says only "tra tau" (walk R:
    "sa tra tau distrik apa, sa tinggal dekat pasar lama" was offered "Tidak tahu", the
    place lost); None where another part names a choice ("kuala kencana tapi sa pu anak de
    tinggal di timika" is asked again) or no part is unsure."""
    if state.unmatched is None or "?" in text:
        return None
    parts = [p.strip() for p in CLAUSES.split(text) if p.strip()]
    places = [p for p in parts if len(parts) > 1 and _a_place(engine, state, p)]
    rest = [p for p in parts if p not in places]
    if not places or not rest or not all(_unsure(engine, m, state, p) for p in rest):
        return None
    return ", ".join(places)


def _unsure(engine: Runner, m: StepModel, state: StateSpec, text: str) -> bool:
    """Whether words read as the choice a place told in words is kept under ("unknown")."""
    answers, choices = engine.bundle.answers, engine.flow.choices_of(state)
    labels = engine.labels(state.name, m.language)
    said = answers.match(state, text, "", choices, labels, m.language) or \
        answers.guess(state, text, choices, labels, m.language)
    return said is not None and state.unmatched is not None and \
        said.value == state.unmatched[1]


def _a_place(engine: Runner, state: StateSpec, text: str, names: bool = False) -> bool:
    answers = engine.bundle.answers
    if len(text.split()) > KEPT_WORDS or answers.shared_value(text) is not None or \
            answers.acknowledges(text) or not answers.names_place(state, text, names=names):
        return False  # one word alone, once the list was shown again ("tunggu" is none)
    return len(text.split()) > 1 or not _known(engine, text)


def _known(engine: Runner, word: str) -> bool:
    """Whether one word is the bot's own: a keyword, a time, a word of a choice's label."""
    folded = fold(word).strip()
    answers = engine.bundle.answers
    if folded in engine.bundle.keywords or folded in SKIP_WORDS or \
            any(w in answers.times for w in answers.normalise(folded)):
        return True
    return any(folded in label.split() for s in engine.flow.states
               for label in engine.labels(s, "id") + engine.labels(s, "en"))
