"""Crisis words in free text: phrase lists per group, matched after normalising spellings.

Tolerant of case, punctuation, repeated letters (`matiii`) and common short spellings in
Indonesian and Papuan Malay (`sy`, `sa`, `tra`), which the lists file maps to one form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from flows.definition import FlowError
from flows.text import fold

GROUPS = ("selfharm", "violence", "sexual", "child")
_REPEATS = re.compile(r"(\w)\1+")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class CrisisWords:
    spellings: dict[str, str]
    phrases: dict[str, tuple[tuple[str, ...], ...]]  # group -> phrases as token tuples

    @cached_property
    def patterns(self) -> dict[str, re.Pattern[str]]:
        """One regex per group over the normalised words: whole words and phrases only."""
        return {g: re.compile(r"(?:^| )(?:" + "|".join(
            re.escape(" ".join(p)) for p in sorted(ps, key=len, reverse=True)) + r")(?= |$)")
                for g, ps in self.phrases.items() if ps}

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for word in _REPEATS.sub(r"\1", fold(text)).split():
            out.extend(self.spellings.get(word, word).split())
        return out

    def groups_in(self, text: str) -> list[str]:
        """The groups whose phrases appear in `text`, in the lists' order."""
        if not _LETTER.search(text):
            return []  # a number or an emoji: no words to look at
        joined = " ".join(self.tokens(text))
        return [g for g, pattern in self.patterns.items() if pattern.search(joined)]


def load_crisis_words(path: Path) -> CrisisWords:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise FlowError(f"{path}: crisis word list not found") from exc
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping) or not isinstance(raw.get("spellings", {}), Mapping):
        raise FlowError(f"{path}: needs `spellings` (a mapping) and one list per group")
    spellings = {_REPEATS.sub(r"\1", fold(str(k))): fold(str(v))
                 for k, v in (raw.get("spellings") or {}).items()}
    base = CrisisWords(spellings, {})
    phrases: dict[str, tuple[tuple[str, ...], ...]] = {}
    for group in GROUPS:
        items = raw.get(group)
        if not isinstance(items, list) or not items:
            raise FlowError(f"{path}: {group}: needs a list of words or phrases")
        phrases[group] = tuple(tuple(base.tokens(str(p))) for p in items)
    unknown = set(raw) - {"spellings", *GROUPS}
    if unknown:
        raise FlowError(f"{path}: unknown group '{sorted(unknown)[0]}'")
    return CrisisWords(spellings, phrases)
