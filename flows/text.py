"""Reading what people type: normalising, keywords, matching an answer to a choice."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from flows.definition import ChoiceSpec

MAX_ANSWER_CHARS = 2000
MAX_OPTION_DIGITS = 3
# a leading option number: "2", "2.", "2)", "2 tidak", "2.Tidak"; not "-1", "1,5", "12abc"
LEAD_NUMBER = re.compile(r"([0-9]+)(?:[.)]|(?=\s)|$)\s*(.*)", re.DOTALL)
KEYCAP = str.maketrans("", "", "\ufe0f\u20e3")  # "1️⃣" (keycap emoji) is "1"
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


Phrases = tuple[tuple[re.Pattern[str], str], ...]  # whole-message pattern, command
_LETTER = re.compile(r"[^\W\d_]")  # a word's letter: a message with none is a number or signs
SENTENCES = re.compile(r"[.,;!?\n]+")  # what ends a message's parts (its sentences)
PHRASE_CHARS = 120  # longer is a story, never a request in a sentence (flows/phrases.yaml)


def has_letters(text: str) -> bool:
    """Whether a message has a word in it (not only a number or signs: no sentence)."""
    return _LETTER.search(text) is not None


def command_of(text: str, keywords: dict[str, str], phrases: Phrases) -> str | None:
    """The command a whole message names or asks for in a sentence ("tolong hapus sa pu
    data"), or None."""
    folded = fold(text)
    found = keywords.get(folded)
    if found is None and phrases and len(folded) <= PHRASE_CHARS and has_letters(folded):
        # (a bare "2", the commonest message, asks nothing in a sentence)
        found = next((command for pattern, command in phrases if pattern.fullmatch(folded)),
                     None)
    return found


def named_in(text: str, phrases: Phrases) -> str | None:
    """The name of the first phrase found anywhere in `text`, folded (flows/phrases.yaml
    `notices` and `writers`), or None."""
    folded = fold(text)
    return next((name for pattern, name in phrases if pattern.search(folded)), None)


def match_choice(text: str, payload: str, choices: tuple[ChoiceSpec, ...],
                 folded_labels: list[str]) -> ChoiceSpec | None:
    """A choice by button payload, by its value or label typed out, or by its number.

    `folded_labels` are the choices' labels already passed through `fold`. A number is the
    whole message ("2", "2.", "2)") or the number and the start of that choice's label
    ("2. Tidak sekarang"); "-1", "1,5" and numbers of more than 3 digits are no answer.
    The words people use beyond this are `flows.answers.Answers`.
    """
    if payload:
        for c in choices:
            if c.value == payload:
                return c
    cleaned = clean(text)
    folded = fold(cleaned)
    if not folded:
        return None
    for c, label in zip(choices, folded_labels, strict=True):
        if folded in (fold(c.value.replace("_", " ")), label):
            return c
    lead = LEAD_NUMBER.fullmatch(cleaned.translate(KEYCAP))
    if not lead or len(lead.group(1)) > MAX_OPTION_DIGITS:  # before int(): never a huge int
        return None
    n = int(lead.group(1))
    if not 1 <= n <= len(choices):
        return None
    rest = fold(lead.group(2))
    return choices[n - 1] if folded_labels[n - 1].startswith(rest) else None


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A first message in English ("hello, my husband beats me when he is drunk") gets the greeting
# in English: words that are plainly English, and few that are Indonesian or Papuan Malay.
_ENGLISH = _set(
    "i my me he she his her they we you your the a an is am are was were when and to of for "
    "with this that it not do don please help what where how can hello hi good morning "
    "evening scared afraid want need husband wife kids children child son daughter mother "
    "father boyfriend beats hits hurt kill someone there here now")
_MALAY = _set(
    "saya sa sy aku dia de tra tidak tdk yang yg dan di ke mau mo su sudah pu punya ini itu "
    "ada apa bisa tolong kak kaka kakak bapa bapak mama ibu anak suami istri halo selamat "
    "pagi siang sore malam dengan deng sama dari untuk kami kita dorang ko kamu")


# A plea for help in English alone ("help", walk U-22: the emergency text came in
# Indonesian, and the greeting and consent after it)
_ENGLISH_PLEAS = frozenset({"help", "help me", "please help", "help please", "pls help",
                            "help pls", "please help me", "need help", "i need help",
                            "emergency", "help help"})


def written_in(text: str, default: str) -> str:
    """`en` when a message of three words or more reads as English, or is a plea for help
    in English alone, else `default`."""
    folded = fold(text)
    if folded in _ENGLISH_PLEAS:
        return "en"
    words = folded.split()
    if len(words) < 3:
        return default
    english = sum(w in _ENGLISH for w in words)
    malay = sum(w in _MALAY for w in words)
    return "en" if english >= 3 and english > 2 * malay else default
