"""A flow as data: the parsed and validated form of a flow YAML file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BACK = "back"  # special goto target: return to the state an interrupt left
IMMINENT = "imminent"  # in `from_danger`: danger words of any kind that are P0 now
HEALED = "healed"  # in `from_danger`: an injury told of that has healed ("bekas luka")
# in `from_danger`: danger words with a threat to kill or a weapon (flows/crisis.yaml
# `markers`): "bapa blg kalo sa lari de potong sa" at "has he threatened to kill?"
MARKS = ("kill", "weapon")
# in `from_danger`: violence by the police or other officers (flows/phrases.yaml police_harm)
POLICE_HARM = "police_harm"


class FlowError(ValueError):
    """A flow, catalog or rules file is wrong; the message names the file and the place."""


# libyaml's loader where it is installed: the same safe subset, ~10x faster to load
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, what: str = "file") -> Any:
    """A YAML file of `flows/`, or a FlowError naming it: missing, or not valid YAML."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError as exc:
        raise FlowError(f"{path}: {what} not found") from exc
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from exc


@dataclass(frozen=True)
class Condition:
    """True when the answer saved under `answer` is one of `values`; with `negate`, when
    there is an answer and it is none of them (`not_in: [skipped]`: a text was given).
    With `priority`, when the case's priority so far (the triage of the answers and flags)
    is one of `values`. Never while one of the `unless` conditions holds."""

    name: str
    answer: str
    values: tuple[str, ...]
    negate: bool = False
    priority: bool = False
    unless: tuple[Condition, ...] = ()

    def holds(self, answers: dict[str, object],
              priority: Callable[[], str] | None = None) -> bool:
        """`priority`: the case's priority so far, asked only by a `priority` condition."""
        if any(u.holds(answers, priority) for u in self.unless):
            return False
        if self.priority:
            return priority is not None and priority() in self.values
        if self.negate:
            return self.answer in answers and str(answers[self.answer]) not in self.values
        return str(answers.get(self.answer)) in self.values


@dataclass(frozen=True)
class Branch:
    """Go to `target` when `condition` (a name from the flow's conditions) holds, or always."""

    target: str
    condition: str | None = None


@dataclass(frozen=True)
class ChoiceSpec:
    value: str
    label: str  # catalog key
    goto: tuple[Branch, ...] = ()  # empty: use the state's goto
    actions: tuple[str, ...] = ()
    say: str | None = None  # a text to reply with; without a goto the state stays (menus)


@dataclass(frozen=True)
class StateSpec:
    name: str
    prompt: str  # catalog key
    choices: tuple[ChoiceSpec, ...] = ()
    choices_from: str | None = None  # a named list (e.g. distrik) instead of literal choices
    input: str | None = None  # "text": free text answer
    # "time": the text answer must name a time ("pagi", "jam 4", "sesudah kerja"); a first
    # answer without one is asked again, once (a walk-through: "ya", or a story, was read
    # back as the safe time); "word": a word or two (a codeword), a story is asked again,
    # once (walk N: a story typed at the codeword question was kept as the codeword)
    expects: str | None = None
    save: str | None = None  # answer key
    skippable: bool = False
    goto: tuple[Branch, ...] = ()
    on_enter: tuple[str, ...] = ()
    end: bool = False  # a resting state: the flow waits here; messages get `idle`
    idle: str | None = None  # catalog key answered to messages in a resting state
    interrupt: bool = False  # entered from a keyword; `back` returns to where it was
    idle_goto: tuple[Branch, ...] = ()  # resting state: a message moves on instead of `idle`
    # (a branch to the state itself, or none holding: it stays, and `idle` is said)
    lenient: bool = False  # an optional question: any other message skips it, not re-asks
    # an answer key (`<prompt>.<its value>` is asked where it exists), or a condition of the
    # flow (`<prompt>.<condition>` where it holds: `someone_else`); a list: the first that
    # has its text (the closing: an office visit, a safe time outside the hours, safe times)
    variant: tuple[str, ...] = ()
    # kind of danger (or `imminent`) -> the choice it answers ("suami pukul sa" at the
    # category question is domestic violence); a story told earlier is offered as
    # `<prompt>.suggest`
    from_danger: tuple[tuple[str, str], ...] = ()
    # answers here are facts (who, an age, a place): the lists read them for danger, the
    # model does not ("sa di rumah tanta skarang" read as help now, 0.94)
    facts: bool = False
    # choices a "tapi" (but) in the message takes back: at "are you safe now?", "sa aman,
    # tapi anak2 masih di dalam rumah deng de" is not safe (asked again)
    not_with_but: tuple[str, ...] = ()
    # a message with danger words answers this question where its own words pick a choice
    # ("io de pernah ancam pake parang" at "ever threatened with a weapon?": yes), as at the
    # questions with `from_danger`, but no kind of danger names a choice here by itself; at
    # a text question, a message with danger words is its answer (the story) only with it
    own_words: bool = False
    # the choice a second "tra tau" takes, after the plainer text (`<prompt>.plain`) said
    # which choice is for the unsure: at the danger question, "ragu" is 2 (walk O: "sa tra
    # tau kk" after it was offered a person and the question again)
    unsure: str | None = None
    # the choice the fourth miss takes at a question that is never left unanswered, said
    # with `<prompt>.missed` (walk U-16: "ok", "sip", "🙏" at the greeting, eight times
    # "Maaf, saya belum mengerti", no way out but a number): its gentlest choice
    missed: str | None = None
    # (text question, choice): a few words that name no choice are kept as that text
    # question's answer and this choice is taken (walk O: "di dekat pasar lama" at the
    # distrik question brought the 21-line list again; staff place it)
    unmatched: tuple[str, str] | None = None
    # flag -> the choice it already answers: the question is not asked where the family
    # told it before (walk Q: "tra ada tempat aman" brought the no-shelter notice, and two
    # questions later "Apakah Anda punya tempat aman untuk malam ini?")
    known_by: tuple[tuple[str, str], ...] = ()
    # (condition, branches): where the condition holds as the state is reached, it is not
    # asked and the branches are followed (`pass`: economy and pre-marital counselling with
    # nothing at risk go past the safety questions)
    passes: tuple[str, tuple[Branch, ...]] | None = None
    # taken back by a correction ("sa pu umur salah tulis, sa 17"), the answers given after
    # it stay and their questions are passed, except these (asked again: the child's path);
    # None: the answers after it go with it (their questions asked again)
    keeps_later: tuple[str, ...] | None = None
    # its answer's words name it however long ago in the intake ("bukan kwamki narama"),
    # not only among the last answers (a place's name is no word of another question)
    named_long_ago: bool = False

    def danger_choice(self, kind: object) -> str | None:
        """The choice value the kind of danger `kind` answers here, or None."""
        return next((value for k, value in self.from_danger if k == kind), None)


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    initial: str
    states: dict[str, StateSpec]
    conditions: dict[str, Condition]
    interrupts: dict[str, str]  # keyword command -> interrupt state
    source: str = ""
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    consent_version: str = ""
    # Answers kept on the case itself (columns of the same name, storage.cases.ANSWERS)
    case_answers: tuple[str, ...] = ()
    # A list's choices, made once: every answer in a state that offers a list asks for them
    _listed: dict[str, tuple[ChoiceSpec, ...]] = field(default_factory=dict, repr=False,
                                                       compare=False)

    def begins_again(self, state: StateSpec) -> bool:
        """A resting state after which any message begins the intake again (`done`, after a
        closed case), not an interrupt's (BERHENTI says why it begins again)."""
        return state.end and not state.interrupt and bool(state.idle_goto) and \
            state.idle_goto[0].condition is None and \
            state.idle_goto[0].target == self.initial

    def choices_of(self, state: StateSpec) -> tuple[ChoiceSpec, ...]:
        name = state.choices_from
        if name is None:
            return state.choices
        if name not in self._listed:
            self._listed[name] = tuple(ChoiceSpec(value=v, label=f"list.{name}.{v}")
                                       for v in self.lists[name])
        return self._listed[name]
