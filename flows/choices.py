"""Which choice of a question a message answers: by its words or button, by the kind of
danger its words name, or (a guess) by what a story names."""

from __future__ import annotations

import re

from flows import commands, danger
from flows.actions import CONSENT_CHOICES, FOCUS, HURT_BY_POLICE, StepModel
from flows.crisis import Scan
from flows.definition import HEALED, IMMINENT, POLICE_HARM, ChoiceSpec, StateSpec
from flows.runner import Runner
from flows.text import SENTENCES, clean, fold

POLICE_KINDS = ("violence", "injury", "help_now")  # what harm by the police is told as
# "tra parah" beside the hurt it describes is no "no" to "anyone hurt?" (walk M: "muka bengkak
# sedikit, tra parah" was asked again after the emergency text, and again)
MILD = re.compile(r"\b(?:tra|tidak|tida|tdk|gak|ga|nggak|ndak)\s(?:terlalu\s|begitu\s|seberapa\s)?"
                  r"(?:parah|berat|serius|dalam)\b", re.IGNORECASE)


def choice(engine: Runner, state: StateSpec, value: str | None) -> ChoiceSpec | None:
    """The choice of `state` whose value is `value`, if any."""
    return next((c for c in engine.flow.choices_of(state) if c.value == value), None)


def pick(engine: Runner, m: StepModel, state: StateSpec, text: str,
         payload: str = "") -> ChoiceSpec | None:
    """The choice of `state` a message (or a button's `payload`) answers, or None."""
    choices = engine.flow.choices_of(state)
    if not choices:
        return None
    answers = engine.bundle.answers
    picked = answers.match(state, text, payload, choices,
                           engine.labels(state.name, m.language), m.language)
    if picked is not None and picked.value in state.not_with_but and not payload and \
            answers.says_but(text):
        return None  # "sa aman, tapi anak2 masih di dalam rumah deng de": asked again
    return picked


def choice_of(engine: Runner, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
    """The choice `text` answers at the choice question `state` asks, if any."""
    return None if state.input or state.end else pick(engine, m, state, clean(text))


def guess(engine: Runner, m: StepModel, state: StateSpec, text: str) -> ChoiceSpec | None:
    """The choice of `state` a message's other words name, to offer ("Maksud Anda ...?")."""
    choices = engine.flow.choices_of(state)
    if not choices:
        return None
    labels = engine.labels(state.name, m.language)
    answers = engine.bundle.answers
    q = answers.question(state)
    if q is not None and q.own_self:  # the writer's own age, not any age told
        return answers.own_age(state, text, choices, labels, m.language)
    return answers.guess(state, text, choices, labels, m.language)


def by_police(m: StepModel, kind: object) -> object:
    """Violence done by the police is a kind of its own where a question says what it
    answers (`from_danger`: police_harm): not "KDRT" (walk K: a young man beaten at a
    police post was offered "Kekerasan dalam rumah tangga")."""
    return POLICE_HARM if HURT_BY_POLICE in m.flags and kind in POLICE_KINDS else kind


def agrees(engine: Runner, m: StepModel, text: str) -> bool:
    """`text` consents in so many words ("ok sa setuju", "iya setuju"), as the consent
    question's first two choices are read; a plain "oke" after a refusal is no consent."""
    consent = engine.flow.states.get(commands.CONSENT)
    if consent is None or not commands.AGREE_WORDS.intersection(fold(text).split()):
        return False
    picked = pick(engine, m, consent, text)
    if picked is None:  # "eh tunggu kaka, sa salah pilih. sa mau setuju saja, sa butuh
        # dibantu" (a walk-through: "Ketik ULANG"): one sentence agrees, none refuses
        said = {c.value for part in SENTENCES.split(text) if part.strip()
                if (c := pick(engine, m, consent, part)) is not None}
        return len(said) == 1 and CONSENT_CHOICES.get(said.pop()) == "consent"
    return CONSENT_CHOICES.get(picked.value) == "consent"


def answers_safety(engine: Runner, m: StepModel, text: str) -> bool:
    """A message that picks a choice is that choice, not a pause; at a safety question
    (an interrupt: "are you safe now?"), one that names any of its choices is read as
    an answer or asked again: "sa su aman, tra usah" there is no "later"."""
    state = engine.flow.states[m.state]
    text = clean(text)
    if pick(engine, m, state, text) is not None:
        return True
    return state.interrupt and bool(engine.bundle.answers.named(
        state, text, engine.flow.choices_of(state), engine.labels(state.name, m.language),
        m.language))


def still_in_danger(engine: Runner, m: StepModel, state: StateSpec, text: str,
                    scan: Scan) -> ChoiceSpec | None:
    """At the emergency question ("are you safe now?", an interrupt with `from_danger`),
    words of danger now answer it, still in danger, when they pick it themselves (its
    button label says "masih dalam bahaya": read as new danger it brought the whole
    message back, again and again) or are about the danger the message was for ("de
    masih pukul anak2"; "dalam bahaya", which names no kind). Another kind of danger gets
    its own message. "aman" beside another's danger ("Saya aman, yang dalam bahaya anak
    itu") is still in danger: theirs."""
    if not (state.interrupt and state.from_danger):
        return None
    value = state.danger_choice(IMMINENT)
    picked = pick(engine, m, state, clean(text))
    if picked is not None and picked.value == value:
        return picked  # also without words of now: "masih, dong masih baku pukul" (walk
        # Q: a neighbour's "still" read as new violence, the victim's text to her)
    if not scan.imminent:
        return None
    if picked is not None and not (scan.child or scan.other):
        return None  # "aman" beside danger now: the message again
    # the same danger ("de masih pukul anak2"; "Saya aman, yang dalam bahaya anak itu":
    # the writer is safe, the child is not); "dalam bahaya", "tolong" name no new kind
    # (after DARURAT, with no kind named yet, they bring the message and its numbers)
    focus, before = danger.focus_of(scan), m.answers.get(FOCUS)
    same = danger.FOCUS_TEXTS.get(focus, focus) == before or \
        (focus == "help_now" and before is not None)
    return choice(engine, state, value) if same else None


def danger_choice(engine: Runner, m: StepModel, state: StateSpec, text: str,
                  scan: Scan) -> ChoiceSpec | None:
    """The choice a message with danger words answers, at a question whose choices name
    kinds of danger (`from_danger`): the one it picks itself ("kdrt"), else the one its
    kind of danger names ("suami pukul sa tiap malam" is domestic violence); at a risk
    question (`own_words`) only the one it picks itself. Elsewhere a message with
    danger words answers no choice question: it is asked again."""
    if not (state.from_danger or state.own_words) or state.end or state.interrupt or \
            scan.model is not None:
        return None
    picked = pick(engine, m, state, clean(text))
    if picked is None and state.own_words:  # "io de ada di rumah. pernah de bilang mo
        # bunuh mama" (walk Q: asked again): the one choice its sentences pick
        said = {p.value: p for part in SENTENCES.split(text) if part.strip()
                and (p := pick(engine, m, state, clean(part))) is not None}
        picked = next(iter(said.values())) if len(said) == 1 else None
    if picked is not None:  # its own answer; never "no" beside imminent danger words
        return None if scan.imminent and picked.value in ("no", "unknown") else picked
    if not state.from_danger:
        return None  # only its own words answer here
    value = _kind_named(state, scan, by_police(m, danger.focus_of(scan)))
    named = engine.bundle.answers.named(state, MILD.sub(" ", text),
                                        engine.flow.choices_of(state),
                                        engine.labels(state.name, m.language), m.language)
    if named & {"no", "unknown"} - {value}:  # "muka bengkak tra perlu ke rumah sakit"
        return None  # says no: asked again
    return choice(engine, state, value)


def _kind_named(state: StateSpec, scan: Scan, focus: object) -> str | None:
    """The value of the choice the kind of danger in `scan` names at `state`, if any."""
    # "dulu de pukul sa sampe luka, skarang su sembuh" at "anyone hurt?": a healed injury
    value = state.danger_choice(HEALED) if scan.healed else None
    value = value or state.danger_choice(focus)
    if state.own_words:  # at a risk question, any kind it names: a father's "sa pukul
        # sa pu anak" at "are children threatened?" is the child's yes (not at the
        # category: "saya pukul anak saya ... saya mau berhenti" is his own category)
        value = value or next((v for k in scan.groups if (v := state.danger_choice(k))),
                              None)
    value = value or next((v for k in scan.marks if (v := state.danger_choice(k))), None)
    if value is None and scan.imminent:  # "sa pu paitua pegang parang di luar ini"
        value = state.danger_choice(IMMINENT)  # at "in danger now?" is "now"
    return value
