"""Reading what people type: normalising, keywords, matching an answer to a choice."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from flows.definition import ChoiceSpec

MAX_ANSWER_CHARS = 2000
_SPACE = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)


@lru_cache(maxsize=8192)  # people type the same short answers ("1", "ya") again and again
def clean(text: str) -> str:
    """Drop control and format characters (keeping line breaks), trim and fold spaces."""
    kept = "".join(
        ch for ch in text
        if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
    )
    return _SPACE.sub(" ", kept).strip()


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Lower case, no punctuation, single spaces: the form keywords and labels are compared in."""
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", clean(text).lower())).strip()


def keyword(text: str, keywords: dict[str, str]) -> str | None:
    """The command a whole message names (`DARURAT!`, ` menu `), or None."""
    return keywords.get(fold(text))


def match_choice(text: str, payload: str, choices: tuple[ChoiceSpec, ...],
                 folded_labels: list[str]) -> ChoiceSpec | None:
    """A choice by button payload, by its number, by its value, or by its label's words.

    `folded_labels` are the choices' labels already passed through `fold`.
    """
    if payload:
        for c in choices:
            if c.value == payload:
                return c
    folded = fold(text)
    if not folded:
        return None
    if folded.isdecimal():
        n = int(folded)
        return choices[n - 1] if 1 <= n <= len(choices) else None
    first = folded.split(" ", 1)[0]
    if first.isdecimal() and len(folded) <= 40:  # "2 tidak sekarang" typed from the list
        n = int(first)
        return choices[n - 1] if 1 <= n <= len(choices) else None
    for c, label in zip(choices, folded_labels, strict=True):
        if folded in (fold(c.value.replace("_", " ")), label):
            return c
    return None
