"""The family's intake as staff read it: each answer with its question, and what a number meant.

The message log keeps the family's words and the bot's texts, not which question a text
asked. A bot text is recognised as a question by comparing it with every state's prompt in
the family catalog (each language, with the `.short` and per-danger forms, a `{placeholder}`
matching anything); the family's next plain number (`3`, `3.`) is then that question's
choice, in the staff's words: `3 (Tidak)`. Texts that are not questions (a reprompt, the
safety numbers, a menu answer) leave the last question standing, as the engine does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from bot.casework import labels, staff
from bot.casework.staff import STAFF_LANGUAGE
from flows.actions import FROM_WORDS, case_answers
from flows.commands import FROM_STORY
from flows.crisis import GROUPS
from flows.definition import StateSpec
from flows.types import LANGUAGES
from storage import conversations

_NUMBER = re.compile(r"\s*(\d{1,3})\.?\s*")
_FIELD = re.compile(r"\{[^{}]*\}")
_LEADING_NOTE = re.compile(r"^\([^)]*\)\s*")  # "(Boleh dilewati) "


def question_words(text: str) -> str:
    """The part of a prompt that asks: its last line with a `?`, up to the `?` (else its last
    line that is not an instruction such as `Ketik LEWATI ...`), without a leading `(...)`."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    asking = [line for line in lines if "?" in line]
    if asking:
        line = _LEADING_NOTE.sub("", asking[-1])
        return line[:line.index("?") + 1] if "?" in line else line
    told = [line for line in lines if not line.lower().startswith(("ketik", "type"))]
    line = _LEADING_NOTE.sub("", (told or lines or [""])[-1])
    kept = [s for s in re.split(r"(?<=[.!])\s+", line)
            if not s.lower().startswith(("ketik", "type"))]
    return " ".join(kept) or line


class Questions:
    """The intake's questions, recognised in the bot's logged texts."""

    def __init__(self, bundle: labels.Intake) -> None:
        self.bundle = bundle
        self.exact: dict[str, set[str]] = {}
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        foci = {f for r in bundle.triage.labels if (f := bundle.triage.focus(r))}
        texts = bundle.catalog.texts
        for state in bundle.flow.states.values():
            keys = [state.prompt, *(f"{state.prompt}.{v}" for v in (*GROUPS, *foci)
                                    if state.variant)]
            keys += [f"{state.prompt}.{v}" for v in state.variant  # of someone else, say
                     if v in bundle.flow.conditions]
            if state.from_danger:  # "Dari cerita Anda tadi, masalahnya mungkin: ..."
                keys.append(f"{state.prompt}.suggest")
            if state.variant:  # of a child writing, of someone else, and asked again ("Kami
                # sudah menandai keadaan Anda darurat...": a walk-through's "1" to it read as
                # the greeting's "Lanjut chat" in the transcript, "safe now" in the answers)
                keys += [f"{k}{form}" for k in keys for form in (".child", ".other", ".again")]
            keys += [f"{k}.young" for k in keys]  # asked of a child ("apakah kamu ...")
            keys += [f"{k}.short" for k in keys]
            for lang in LANGUAGES:
                for key in keys:
                    if key in texts[lang]:
                        self._add(texts[lang][key], state.name)
                for prompt in (state.prompt, f"{state.prompt}.young"):
                    for story in (FROM_STORY, f"{FROM_STORY}.young"):
                        if bundle.flow.choices_of(state) and prompt in texts[lang] and \
                                story in texts[lang]:
                            # the question, then "Dari cerita Anda tadi: <a choice>? ..."
                            self._add(texts[lang][story].replace(
                                "{question}", texts[lang][prompt]), state.name)

    def _add(self, template: str, state: str) -> None:
        if "{" not in template:
            self.exact.setdefault(template, set()).add(state)
            return
        parts = _FIELD.split(template)
        pattern = re.compile(".*?".join(re.escape(p) for p in parts), re.S)
        self.patterns.append((pattern, state))

    def asked(self, text: str) -> StateSpec | None:
        """The question a bot text asks, if it is one (and only one)."""
        found = set(self.exact.get(text, ()))
        if not found:
            found = {state for pattern, state in self.patterns if pattern.fullmatch(text)}
        states = self.bundle.flow.states
        return states[found.pop()] if len(found) == 1 else None

    def choice(self, state: StateSpec, text: str,
               language: str = STAFF_LANGUAGE) -> str | None:
        """The label of the choice a plain number stands for at `state`, if it is one."""
        number = _NUMBER.fullmatch(text)
        choices = self.bundle.flow.choices_of(state)
        if number is None or not 1 <= int(number[1]) <= len(choices):
            return None
        label = self.bundle.catalog.text(choices[int(number[1]) - 1].label, language)
        return None if label.strip() == text.strip() else label

    def question(self, state: StateSpec, language: str = STAFF_LANGUAGE,
                 stored: Mapping[str, Any] | None = None) -> str:
        """The question's words as the family read them: of someone else where it asked of
        them ("Apakah orang yang Anda ceritakan punya tempat aman...?"; staff had read "Apakah
        Anda punya tempat aman?" above a "Ya" about a neighbour's child)."""
        key = state.prompt
        for variant in state.variant:
            cond = self.bundle.flow.conditions.get(variant)
            if cond is not None and stored is not None and cond.holds(dict(stored)) and \
                    f"{key}.{variant}" in self.bundle.catalog.texts[language]:
                key = f"{key}.{variant}"
                break
        return question_words(self._filled(key, language, stored or {}))

    def _filled(self, key: str, language: str, stored: Mapping[str, Any]) -> str:
        """A prompt with what the family read in its `{placeholders}` (walk V-11: the
        subscription question read `Anda akan terima pesan info "{topic}"` in the family's
        DATA copy and under "Jawaban keluarga"); one the answers cannot tell, left out."""
        catalog = self.bundle.catalog
        template = catalog.text(key, language)
        if "{" not in template:
            return template
        params: dict[str, Any] = {}
        topic = f"list.broadcast_topics.{stored.get('sub_topic') or 'all'}"
        if topic in catalog.texts[language]:
            params["topic"] = catalog.text(topic, language)
        if stored.get("safe_times"):
            params["safe_times"] = str(stored["safe_times"])
        return _FIELD.sub("…", catalog.text(key, language, params) if params else template)

    def answer(self, state: StateSpec, value: Any, media: Any = None,
               language: str = STAFF_LANGUAGE, told: bool = False) -> str:
        """A stored answer in words: a choice's label, a typed text, `(dilewati)`; `told`:
        kept from the family's own words, not chosen at its question (flows/offers.py
        `told_stands`: "Di bawah 18 tahun (dari ceritanya sendiri)")."""
        if value == "skipped":
            return staff.text("answer.skipped", language)
        words = next((self.bundle.catalog.text(c.label, language)
                      for c in self.bundle.flow.choices_of(state) if c.value == str(value)),
                     str(value))
        kinds = " ".join(f"[{labels.media(str(m.get('kind') or ''), language)}]"
                         for m in media or [] if isinstance(m, Mapping))  # "[pesan suara]",
        # not the code "[voice]" (walk S, 29)
        own = staff.text("answer.from_words", language) if told else ""
        return " ".join(w for w in (words, own, kinds) if w)


@cache
def questions() -> Questions:
    return Questions(labels.intake())


def warm() -> None:
    """Read the intake's texts and questions and the staff texts now (at start-up), not the
    first time a counselor's command needs them, inside the processor's write transaction."""
    staff.catalog()
    questions()


def annotate(messages: Iterable[tuple[str, str]]) -> list[str]:
    """(direction, text) of a contact's log in order -> the texts, a family's plain number
    followed by what it chose: `3 (Tidak)`."""
    q, asked, out = questions(), None, []
    for direction, text in messages:
        if direction == "out":
            asked = q.asked(text) or asked
            out.append(text)
            continue
        meant = q.choice(asked, text) if asked is not None else None
        if meant:  # answered: a number after it is no longer its answer (walk V-11: a "1"
            asked = None  # sent after DATA read "1 (Iya, saya mau)")
        out.append(f"{text} ({meant})" if meant else text)
    return out


def asked_states(messages: Iterable[tuple[str, str]]) -> set[str]:
    """The questions the bot asked in a log (state names)."""
    q = questions()
    return {s.name for d, t in messages if d == "out" and (s := q.asked(t)) is not None}


def _state_for(key: str, value: Any, asked: set[str]) -> StateSpec | None:
    """The question that saved `key`: of those that save it, the one asked (the call path's
    or the chat path's), else one offering `value` as a choice, else the first."""
    q = questions()
    states = [s for s in q.bundle.flow.states.values() if s.save == key]
    fits = [s for s in states if s.name in asked] or [
        s for s in states if any(c.value == str(value) for c in q.bundle.flow.choices_of(s))]
    found = fits or states
    return found[0] if found else None


def of_case(conv: conversations.ConversationRow | None, case_id: int,
            events: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The answers staff read with case `case_id`: those kept when it was closed (the
    `close` event among `events`, the case's), else its conversation's, with those kept
    when BERHENTI or ULANG started it over (flows.actions `case_answers`); none when the
    conversation has moved on to another case."""
    closed = [e for e in events if e["kind"] == "close" and e.get("case_id") == case_id]
    if closed:
        kept = (closed[-1]["data"] or {}).get("answers")
        return dict(kept) if isinstance(kept, dict) else {}
    if conv is None or conv.case_id != case_id:
        return {}
    return case_answers(conv.answers, conv.case_number)


def answer_of(stored: Mapping[str, Any], key: str, language: str = STAFF_LANGUAGE) -> str:
    """One stored answer in words (`-` when there is none)."""
    if key not in stored:
        return staff.text("answer.none", language)
    state = _state_for(key, stored[key], set())
    if state is None:
        return str(stored[key])
    return questions().answer(state, stored[key], stored.get(f"{key}_media"), language,
                              told=bool(stored.get(f"{key}{FROM_WORDS}")))


def answers(stored: Mapping[str, Any], asked: set[str],
            language: str = STAFF_LANGUAGE) -> list[tuple[str, str]]:
    """The conversation's answers as (question, answer), in the intake's order."""
    q = questions()
    order = list(q.bundle.flow.states)
    chosen = [(state, key) for key in stored
              if (state := _state_for(key, stored[key], asked)) is not None]
    chosen.sort(key=lambda pair: order.index(pair[0].name))
    return [(q.question(state, language, stored),
             q.answer(state, stored[key], stored.get(f"{key}_media"), language,
                      told=bool(stored.get(f"{key}{FROM_WORDS}"))))
            for state, key in chosen]
