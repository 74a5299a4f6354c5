"""Load flow, catalog, list and triage files from a folder and validate them at load."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from flows.actions import FLAGS, TOLD, TOLD_STORY
from flows.answers import Answers, load_answers
from flows.broadcast import ALL as ALL_TOPICS
from flows.broadcast import LIST as TOPIC_LIST
from flows.broadcast import load_topics
from flows.catalog import Catalog, load_catalog
from flows.commands import ENGINE_COMMANDS
from flows.corrections import Phrasing
from flows.crisis import GROUPS, CrisisWords, load_crisis_words
from flows.definition import (
    BACK,
    HEALED,
    IMMINENT,
    MARKS,
    POLICE_HARM,
    Branch,
    ChoiceSpec,
    Condition,
    Flow,
    FlowError,
    StateSpec,
    read_yaml,
)
from flows.directory import Directory, load_directory
from flows.hours import ServiceHours, load_hours
from flows.text import Phrases, fold
from flows.triage import PRIORITIES, TriageRules, load_rules

FLOWS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NoticeRules:
    """How some notices behave beside the rest of a message (flows/phrases.yaml
    `notice_rules`, whose comment says what each is)."""

    tells_the_problem: frozenset[str] = frozenset()
    quiet_after_danger: frozenset[str] = frozenset()
    model_gives_way: frozenset[str] = frozenset()
    asks_only: frozenset[str] = frozenset()
    after_selfharm: frozenset[str] = frozenset()
    outweighs_model: frozenset[str] = frozenset()
    flags: Mapping[str, str] = field(default_factory=dict)  # notice -> the flag it sets


@dataclass(frozen=True)
class Bundle:
    """Everything the engine needs for one flow."""

    flow: Flow
    catalog: Catalog
    triage: TriageRules
    keywords: dict[str, str]  # normalised word -> command
    phrases: Phrases  # sentences that ask for a command (flows/phrases.yaml)
    crisis: CrisisWords
    directory: Directory
    answers: Answers
    hours: ServiceHours
    notices: Phrases = ()  # words a short word of help answers anywhere (flows/phrases.yaml)
    writers: Phrases = ()  # someone else writing on the family's phone (flows/phrases.yaml)
    beside_danger: Phrases = ()  # notices said beside danger words too (flows/phrases.yaml)
    notice_rules: NoticeRules = field(default_factory=NoticeRules)
    asides: Phrases = ()  # said beside questions about the service (flows/phrases.yaml)
    corrections: Phrasing | None = None  # how a correction begins (flows/phrases.yaml)
    pauses: Phrases = ()  # why a pause is asked for: someone near (flows/phrases.yaml)


def _branches(raw: Any, where: str) -> tuple[Branch, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (Branch(raw),)
    if not isinstance(raw, list):
        raise FlowError(f"{where}: goto must be a state name or a list of {{if, goto}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or "goto" not in item:
            raise FlowError(f"{where}[{i}]: each branch needs a goto")
        out.append(Branch(str(item["goto"]), item.get("if")))
    if out[-1].condition is not None:
        raise FlowError(f"{where}: the last branch must have no `if`, so some branch always fits")
    return tuple(out)


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise FlowError(f"{where}: expected a name or a list of names")


def _state(name: str, raw: Any, where: str) -> StateSpec:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: a state must be a mapping")
    known = {"prompt", "choices", "choices_from", "input", "save", "skippable", "goto",
             "on_enter", "end", "idle", "interrupt", "idle_goto", "lenient", "variant",
             "from_danger", "facts", "not_with_but", "own_words", "expects", "unsure",
             "missed", "unmatched", "known_by", "pass", "keeps_later", "named_long_ago"}
    extra = set(raw) - known
    if extra:
        raise FlowError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    if "prompt" not in raw:
        raise FlowError(f"{where}: missing prompt")
    if raw.get("expects") not in (None, "time", "word") or \
            (raw.get("expects") and not raw.get("input")):
        raise FlowError(f"{where}: expects: only `time` or `word`, on a text question")
    choices = []
    for i, c in enumerate(raw.get("choices") or []):
        cw = f"{where}.choices[{i}]"
        if not isinstance(c, Mapping) or "value" not in c or "label" not in c:
            raise FlowError(f"{cw}: a choice needs value and label")
        choices.append(ChoiceSpec(str(c["value"]), str(c["label"]),
                                  _branches(c.get("goto"), f"{cw}.goto"),
                                  _names(c.get("do"), f"{cw}.do"), c.get("say")))
    return StateSpec(
        name=name, prompt=str(raw["prompt"]), choices=tuple(choices),
        choices_from=raw.get("choices_from"), input=raw.get("input"), save=raw.get("save"),
        skippable=bool(raw.get("skippable", False)),
        goto=_branches(raw.get("goto"), f"{where}.goto"),
        on_enter=_names(raw.get("on_enter"), f"{where}.on_enter"), end=bool(raw.get("end", False)),
        idle=raw.get("idle"), interrupt=bool(raw.get("interrupt", False)),
        idle_goto=_branches(raw.get("idle_goto"), f"{where}.idle_goto"),
        lenient=bool(raw.get("lenient", False)),
        variant=_names(raw.get("variant"), f"{where}.variant"),
        from_danger=_pairs(raw.get("from_danger"), f"{where}.from_danger"),
        facts=bool(raw.get("facts", False)),
        not_with_but=_names(raw.get("not_with_but"), f"{where}.not_with_but"),
        own_words=bool(raw.get("own_words", False)),
        expects=raw.get("expects"),
        unsure=raw.get("unsure"),
        missed=raw.get("missed"),
        unmatched=_unmatched(raw.get("unmatched"), f"{where}.unmatched"),
        known_by=_pairs(raw.get("known_by"), f"{where}.known_by"),
        passes=_passes(raw.get("pass"), f"{where}.pass"),
        keeps_later=_names(raw["keeps_later"], f"{where}.keeps_later")
        if "keeps_later" in raw else None,
        named_long_ago=bool(raw.get("named_long_ago", False)),
    )


def _passes(raw: Any, where: str) -> tuple[str, tuple[Branch, ...]] | None:
    """`pass: {if: <condition>, goto: ...}`: not asked where the condition holds."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"if", "goto"} or \
            not isinstance(raw["if"], str):
        raise FlowError(f"{where}: needs `if` (a condition) and `goto`")
    return str(raw["if"]), _branches(raw["goto"], f"{where}.goto")


def _unmatched(raw: Any, where: str) -> tuple[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"keep_as", "choice"}:
        raise FlowError(f"{where}: needs `keep_as` (a text question) and `choice`")
    return str(raw["keep_as"]), str(raw["choice"])


def _pairs(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise FlowError(f"{where}: expected a mapping of kind of danger to choice value")
    return tuple((str(k), str(v)) for k, v in raw.items())


def _condition(name: str, c: Any, where: str) -> Condition:
    """`{answer, in | not_in}`, or `{priority: [P0, P1]}`; either with `unless`."""
    if isinstance(c, Mapping) and set(c) - {"unless"} == {"priority"}:
        if not isinstance(c["priority"], list) or not c["priority"] or \
                not set(map(str, c["priority"])) <= set(PRIORITIES):
            raise FlowError(f"{where}.priority: a list of {', '.join(PRIORITIES)}")
        return Condition(name, "", tuple(map(str, c["priority"])), priority=True)
    if not isinstance(c, Mapping) or "answer" not in c or ("in" in c) == ("not_in" in c):
        raise FlowError(f"{where}: needs `answer` and one of `in` or `not_in` (or `priority`)")
    negate = "not_in" in c
    values = c["not_in"] if negate else c["in"]
    if not isinstance(values, list):
        raise FlowError(f"{where}: `{'not_in' if negate else 'in'}` needs a list of values")
    return Condition(name, str(c["answer"]), tuple(str(v) for v in values), negate)


def parse_flow(raw: Any, source: str, lists: dict[str, tuple[str, ...]]) -> Flow:
    if not isinstance(raw, Mapping):
        raise FlowError(f"{source}: a flow file must be a mapping")
    for key in ("name", "version", "initial", "states"):
        if key not in raw:
            raise FlowError(f"{source}: missing `{key}`")
    if not isinstance(raw["states"], Mapping) or not raw["states"]:
        raise FlowError(f"{source}: states: must be a mapping of state name to state")
    try:
        version = int(raw["version"])
    except (TypeError, ValueError) as exc:
        raise FlowError(f"{source}: version: must be a whole number") from exc
    states = {str(n): _state(str(n), s, f"{source}: states.{n}") for n, s in raw["states"].items()}
    conditions = {}
    for n, c in (raw.get("conditions") or {}).items():
        conditions[str(n)] = _condition(str(n), c, f"{source}: conditions.{n}")
    for n, c in conditions.items():
        unless = _names((raw["conditions"][n]).get("unless"), f"{source}: conditions.{n}.unless")
        for u in unless:
            if u not in conditions or conditions[u].unless or \
                    raw["conditions"][u].get("unless"):
                raise FlowError(f"{source}: conditions.{n}.unless: '{u}' is no condition "
                                "without an `unless` of its own")
        conditions[n] = replace(c, unless=tuple(conditions[u] for u in unless))
    interrupts = {str(k): str(v) for k, v in (raw.get("interrupts") or {}).items()}
    on_case = tuple(str(a) for a in raw.get("case_answers") or ())
    for name in on_case:
        if name not in states:
            raise FlowError(f"{source}: case_answers: `{name}` is not a question of the flow")
    return Flow(str(raw["name"]), version, str(raw["initial"]), states, conditions,
                interrupts, source, lists, str(raw.get("consent_version", "")), on_case)


def _targets(state: StateSpec, flow: Flow) -> Iterable[tuple[str, Branch]]:
    for b in state.goto:
        yield f"states.{state.name}.goto", b
    for b in state.idle_goto:
        yield f"states.{state.name}.idle_goto", b
    for b in state.passes[1] if state.passes else ():
        yield f"states.{state.name}.pass.goto", b
    for i, c in enumerate(flow.choices_of(state)):
        for b in c.goto:
            yield f"states.{state.name}.choices[{i}].goto", b


def validate(flow: Flow, catalog: Catalog, actions: Iterable[str], triage: TriageRules,
             flags: Iterable[str] = ()) -> None:
    """Raise FlowError naming the file and the place of the first problem found."""
    src, known_actions = flow.source, set(actions)
    if flow.initial not in flow.states:
        raise FlowError(f"{src}: initial: unknown state '{flow.initial}'")
    for cmd, target in flow.interrupts.items():
        if target not in flow.states:
            raise FlowError(f"{src}: interrupts.{cmd}: unknown state '{target}'")
    answer_values: dict[str, set[str] | None] = {f: {"yes"} for f in flags}
    answer_values[TOLD] = set(GROUPS)  # kept by the engine: the kind the family's words named
    answer_values[TOLD_STORY] = {"yes"}  # ...and that a first message told a story
    for s in flow.states.values():
        _validate_state(s, flow, catalog, known_actions)
        if s.save:  # two states may save one answer (contact_pref, contact_watched)
            vals = None if s.input else {c.value for c in flow.choices_of(s)}
            had = answer_values.get(s.save, set())
            answer_values[s.save] = None if vals is None or had is None else had | vals
    for c in flow.conditions.values():
        where = f"{src}: conditions.{c.name}"
        if c.priority:
            continue
        if c.answer not in answer_values:
            raise FlowError(f"{where}: no state saves the answer '{c.answer}'")
        allowed = answer_values[c.answer]
        bad = [v for v in c.values if allowed is not None and v not in allowed]
        if bad:
            raise FlowError(f"{where}: '{bad[0]}' is not a choice of '{c.answer}'")
    triage.check_answers(answer_values)
    _check_reachable(flow)
    catalog.check_complete()


def _validate_state(s: StateSpec, flow: Flow, catalog: Catalog, actions: set[str]) -> None:
    where = f"{flow.source}: states.{s.name}"
    if s.choices_from is not None and s.choices_from not in flow.lists:
        raise FlowError(f"{where}.choices_from: unknown list '{s.choices_from}'")
    choices = flow.choices_of(s)
    if not s.end and not choices and s.input is None:
        raise FlowError(f"{where}: needs choices, an input, or end: true")
    if s.input not in (None, "text"):
        raise FlowError(f"{where}.input: unknown input kind '{s.input}'")
    for key in [s.prompt, s.idle] + [c.label for c in choices] + [c.say for c in choices]:
        if key is not None:
            catalog.require(key, where)
    for label, b in _targets(s, flow):
        if b.target != BACK and b.target not in flow.states:
            raise FlowError(f"{flow.source}: {label}: unknown state '{b.target}'")
        if b.target == BACK and not s.interrupt:
            raise FlowError(f"{flow.source}: {label}: `back` only works in an interrupt state")
        if s.idle_goto and not s.end:
            raise FlowError(f"{where}.idle_goto: only a resting state (end: true) has one")
        if b.condition is not None and b.condition not in flow.conditions:
            raise FlowError(f"{flow.source}: {label}: unknown condition '{b.condition}'")
    for i, c in enumerate(choices):
        if not c.goto and not s.goto and not c.say:
            raise FlowError(f"{where}.choices[{i}]: no goto here or on the state, and no say")
        for a in c.actions:
            if a not in actions:
                raise FlowError(f"{where}.choices[{i}].do: unknown action '{a}'")
    for a in s.on_enter:
        if a not in actions:
            raise FlowError(f"{where}.on_enter: unknown action '{a}'")
    values = {c.value for c in choices}
    for kind, value in s.from_danger:
        if kind not in (*GROUPS, IMMINENT, HEALED, POLICE_HARM, *MARKS):
            raise FlowError(f"{where}.from_danger: unknown kind of danger '{kind}' (one of "
                            f"{', '.join((*GROUPS, *MARKS, POLICE_HARM))}, {IMMINENT} or "
                            f"{HEALED})")
        if value not in values:
            raise FlowError(f"{where}.from_danger.{kind}: '{value}' is not a choice here")
    for value in s.not_with_but:
        if value not in values:
            raise FlowError(f"{where}.not_with_but: '{value}' is not a choice here")
    if s.unsure is not None and s.unsure not in values:
        raise FlowError(f"{where}.unsure: '{s.unsure}' is not a choice here")
    if s.missed is not None:
        if s.missed not in values or not s.save:
            raise FlowError(f"{where}.missed: '{s.missed}' is not a choice here")
        catalog.require(f"{s.prompt}.missed", f"{where}.missed")
    for flag, value in s.known_by:
        if flag not in FLAGS:
            raise FlowError(f"{where}.known_by: '{flag}' is no flag the flows set")
        if value not in values or not s.save:
            raise FlowError(f"{where}.known_by.{flag}: '{value}' is not a choice here")
    if s.unmatched is not None:
        kept, choice = s.unmatched
        if choice not in values:
            raise FlowError(f"{where}.unmatched.choice: '{choice}' is not a choice here")
        if kept not in flow.states or not flow.states[kept].input:
            raise FlowError(f"{where}.unmatched.keep_as: '{kept}' is not a text question")
    if s.passes is not None and s.passes[0] not in flow.conditions:
        raise FlowError(f"{where}.pass.if: unknown condition '{s.passes[0]}'")
    for again in s.keeps_later or ():
        if again not in flow.states or not flow.states[again].save:
            raise FlowError(f"{where}.keeps_later: '{again}' is no question that keeps "
                            "its answer")
    if s.lenient and not s.skippable:
        raise FlowError(f"{where}.lenient: a lenient question must be skippable")
    if s.input and not s.goto:
        raise FlowError(f"{where}: a text input needs a goto")


def _check_reachable(flow: Flow) -> None:
    seen, todo = set(), [flow.initial, *flow.interrupts.values()]
    while todo:
        name = todo.pop()
        if name in seen or name == BACK:
            continue
        seen.add(name)
        todo.extend(b.target for _, b in _targets(flow.states[name], flow))
    for name in flow.states:
        if name not in seen:
            raise FlowError(f"{flow.source}: states.{name}: unreachable from '{flow.initial}'")


def _load_lists(path: Path) -> tuple[dict[str, tuple[str, ...]], dict[str, dict[str, str]]]:
    """Named lists (like the distrik list): values, and their labels per language."""
    raw = read_yaml(path) or {}
    lists: dict[str, tuple[str, ...]] = {}
    labels: dict[str, dict[str, str]] = {}
    for name, items in raw.items():
        values = []
        for i, item in enumerate(items or []):
            if not isinstance(item, Mapping) or len(item) != 1:
                raise FlowError(f"{path}: {name}[{i}]: each item is `value: label`")
            ((value, label),) = item.items()
            values.append(str(value))
            per_lang = label if isinstance(label, Mapping) else {"*": label}
            labels[f"{name}.{value}"] = {str(k): str(v) for k, v in per_lang.items()}
        lists[str(name)] = tuple(values)
    topics = load_topics(path.parent)  # broadcast topics: the subscription question's list
    lists[TOPIC_LIST] = (*topics.values, ALL_TOPICS)
    labels.update(topics.labels)
    return lists, labels


def load_keywords(path: Path) -> dict[str, str]:
    """Keyword -> command; words are compared folded (case and punctuation do not count)."""
    raw = read_yaml(path) or {}
    if not isinstance(raw, Mapping):
        raise FlowError(f"{path}: must be a mapping of command to a list of words")
    out: dict[str, str] = {}
    for command, words in raw.items():
        if not isinstance(words, list):
            raise FlowError(f"{path}: {command}: must be a list of words")
        for w in words:
            word = fold(str(w))
            if not word:
                raise FlowError(f"{path}: {command}: '{w}' has no letters or digits")
            if word in out:
                raise FlowError(f"{path}: {command}: '{w}' is already a keyword of {out[word]}")
            out[word] = str(command)
    return out


def load_phrases(path: Path, commands: Iterable[str]) -> Phrases:
    """Command -> whole-message patterns with `{part}`s (flows/phrases.yaml), compiled."""
    raw = read_yaml(path) or {}
    parts, by_command = raw.get("parts") or {}, raw.get("commands") or {}
    if not isinstance(parts, Mapping) or not isinstance(by_command, Mapping):
        raise FlowError(f"{path}: needs `parts` and `commands`, each a mapping")
    known = set(commands)
    for command in by_command:
        if command not in known:
            raise FlowError(f"{path}: commands: unknown command '{command}'")
    return _compiled(path, parts, by_command)


def load_asides(path: Path) -> Phrases:
    """Whole sentences said beside questions about the service (flows/phrases.yaml
    `asides`), compiled."""
    raw = read_yaml(path) or {}
    parts, asides = raw.get("parts") or {}, raw.get("asides") or []
    if not isinstance(asides, list):
        raise FlowError(f"{path}: asides: must be a list of patterns")
    return _compiled(path, parts, {"aside": asides})


def load_corrections(path: Path) -> Phrasing | None:
    """How a message that takes an answer back begins (flows/phrases.yaml `corrections`),
    compiled; None where the file has none (corrections are then the `mistyped` words)."""
    raw = read_yaml(path) or {}
    parts, said = raw.get("parts") or {}, raw.get("corrections")
    if said is None:
        return None
    names = [f.name for f in fields(Phrasing) if f.name != "about_questions"]
    if not isinstance(said, Mapping) or set(said) != {*names, "about_questions"}:
        raise FlowError(f"{path}: corrections: needs exactly {', '.join(names)}, "
                        "about_questions")
    compiled = dict(_compiled(path, parts, {name: said[name] for name in names}))
    patterns = {name: pattern for pattern, name in compiled.items()}
    if "named" not in patterns["named"].groupindex:
        raise FlowError(f"{path}: corrections.named: needs the group (?P<named>...)")
    about = said["about_questions"]
    if not any(g.startswith("about") for g in patterns["about"].groupindex) or \
            not isinstance(about, Mapping):
        raise FlowError(f"{path}: corrections.about: needs a group (?P<about...>...) and "
                        "about_questions, its words and the questions they name")
    questions = {str(w): tuple(q) if isinstance(q, list) else (str(q),) for w, q in about.items()}
    return Phrasing(**patterns, about_questions=questions)


def load_notice_rules(path: Path, notices: Iterable[str], flags: Iterable[str]) -> NoticeRules:
    """`notice_rules`, each name a notice and each flag one the flows know (a misspelt name
    would silently change nothing)."""
    raw = (read_yaml(path) or {}).get("notice_rules") or {}
    where = f"{path}: notice_rules"
    known, sets = set(notices), [f.name for f in fields(NoticeRules) if f.name != "flags"]
    if not isinstance(raw, Mapping) or set(raw) - {*sets, "flags"}:
        raise FlowError(f"{where}: a mapping of {', '.join(sets)} and flags")
    for rule in sets:
        names = raw.get(rule) or []
        if not isinstance(names, list) or set(map(str, names)) - known:
            raise FlowError(f"{where}.{rule}: must list notices of `notices` or "
                            f"`beside_danger`")
    marks = raw.get("flags") or {}
    if not isinstance(marks, Mapping) or set(map(str, marks)) - known or \
            set(map(str, marks.values())) - set(flags):
        raise FlowError(f"{where}.flags: maps notices to flags the flows set")
    named = {rule: frozenset(map(str, raw.get(rule) or [])) for rule in sets}
    return NoticeRules(**named, flags={str(k): str(v) for k, v in marks.items()})


def load_notices(path: Path, catalog: Catalog, section: str = "notices",
                 texts: str = "notice") -> Phrases:
    """Notice -> patterns looked for anywhere in a message (flows/phrases.yaml `notices`,
    or `writers`: who writes when it is not the phone's owner), compiled; each name's text
    (`notice.NAME`, `writer.NAME`) must be in every catalog."""
    raw = read_yaml(path) or {}
    parts, named = raw.get("parts") or {}, raw.get(section) or {}
    if not isinstance(parts, Mapping) or not isinstance(named, Mapping):
        raise FlowError(f"{path}: `parts` and `{section}` must each be a mapping")
    for name in named:
        catalog.require(f"{texts}.{name}", f"{path}: {section}.{name}")
    return _compiled(path, parts, named)


def _compiled(path: Path, parts: Mapping[str, Any], by_name: Mapping[str, Any]) -> Phrases:
    out: list[tuple[re.Pattern[str], str]] = []
    for command, patterns in by_name.items():
        for pattern in patterns if isinstance(patterns, list) else [patterns]:
            try:
                compiled = re.compile(str(pattern).format_map(
                    {k: str(v) for k, v in parts.items()}))
            except (KeyError, ValueError, re.error) as exc:
                raise FlowError(f"{path}: {command}: {pattern!r} is not a pattern "
                                f"({exc})") from None
            if compiled.fullmatch(""):
                raise FlowError(f"{path}: {command}: {pattern!r} matches an empty message")
            out.append((compiled, str(command)))
    return tuple(out)


def load_bundle(name: str, actions: Iterable[str], flags: Iterable[str] = (),
                folder: Path = FLOWS_DIR) -> Bundle:
    """Load and validate the flow `name` with its catalogs, lists, rules and keywords."""
    flags = tuple(flags)
    lists, list_labels = _load_lists(folder / "lists.yaml")
    catalog = load_catalog(folder / "catalog", extra=list_labels)
    path = folder / f"{name}.yaml"
    flow = parse_flow(read_yaml(path), str(path), lists)
    triage = load_rules(folder / f"{name}.triage.yaml")
    keywords = load_keywords(folder / "keywords.yaml")
    crisis = load_crisis_words(folder / "crisis.yaml")
    unknown = set(keywords.values()) - {*flow.interrupts, *ENGINE_COMMANDS}
    if unknown:
        raise FlowError(f"{folder / 'keywords.yaml'}: unknown command '{sorted(unknown)[0]}'")
    validate(flow, catalog, actions, triage, flags)
    directory = load_directory(folder / "directory.yaml")
    unlisted = [g for g in GROUPS if g not in directory.by_group]
    if unlisted:
        raise FlowError(f"{folder / 'directory.yaml'}: by_group.{unlisted[0]}: every kind of "
                        f"danger in crisis.yaml needs its numbers")
    phrases = load_phrases(folder / "phrases.yaml", set(keywords.values())) \
        if (folder / "phrases.yaml").exists() else ()
    answers = load_answers(folder / "answers.yaml")
    answers.check(flow)
    hours = load_hours(folder / "service.yaml")
    said = folder / "phrases.yaml"
    notices = load_notices(said, catalog) if said.exists() else ()
    writers = load_notices(said, catalog, "writers", "writer") if said.exists() else ()
    beside = load_notices(said, catalog, "beside_danger") if said.exists() else ()
    rules = load_notice_rules(said, {n for _, n in (*notices, *beside)}, flags) \
        if said.exists() else NoticeRules()
    asides = load_asides(said) if said.exists() else ()
    pauses = load_notices(said, catalog, "pauses", "later") if said.exists() else ()
    corrections = load_corrections(said) if said.exists() else None
    for question in {q for qs in (corrections.about_questions if corrections else {}).values()
                     for q in qs}:
        if question not in flow.states or not flow.states[question].save:
            raise FlowError(f"{said}: corrections.about_questions: {question!r} is no "
                            f"question of {name} that keeps its answer")
    return Bundle(flow, catalog, triage, keywords, phrases, crisis, directory, answers, hours,
                  notices, writers, beside, rules, asides, corrections, pauses)


def flow_names(folder: Path = FLOWS_DIR) -> list[str]:
    skip = {"lists", "keywords", "phrases", "crisis", "directory", "referrals", "service",
            "answers", "retention", "broadcast"}
    return sorted(p.stem for p in folder.glob("*.yaml") if "." not in p.stem and p.stem not in skip)
