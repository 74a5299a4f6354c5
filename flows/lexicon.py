"""Phrase lists matched in free text the way families write it (the matching for crisis.py).

A message is cut into segments at . , ! ? ; and line breaks; a segment becomes tokens:
lower case, no punctuation or emoji, repeated letters squeezed (`tolooong`), `anak2` doubled,
short spellings rewritten (`sa` -> `saya`, also several words: `sa pu` -> `ku`), `di`/`baku`
joined to the next word (`di pukul` = `dipukul`) and pieces of a split word rejoined
(`bu nuh` = `bunuh`). Pattern text goes through the same steps, so both sides agree.

A token matches a pattern word when
- they share a Sastrawi stem and the pattern word is written as a root (`pukul` matches
  `dipukuli`, `memukul`, `pukulan`), or the pattern word is affixed and the token is an affixed
  form with the same first two letters (`dipukul` matches `dipukuli`, not `pukul`/`memukul`);
- the pattern word is written `=mati`: that exact word only (not `kematian`, `mematikan`);
- `#`: a number; `#young`: a number from 1 to 17 (a child's age); `#few`: a number from 1 to
  3 (`#few hari lalu`: days within 3x24 hours); `@name`: any word of the
  set `name`; `^` and `$`: the start and the end of the sentence, next to the word after /
  before (`tolong saya $` is not `tolong saya mau tanya`; `^ help $` is a sentence of one
  word);
- the token is no known word (not in Sastrawi's dictionary nor in the lists) of 5+ letters,
  one edit from an Indonesian pattern word (its stem in the dictionary) of 5+ letters with the
  same first letter (`gantug`, `dipkul`); a 4-letter token only counts inside a phrase of
  literal words, next to its other words (`bunh diri`, but not `path` for `patah`).
A pattern matches when its words appear in order in one segment, at most `gap` tokens apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

NUMBER = -1  # the id `#` stands for
END = -2  # the id `$` stands for: the end of a sentence
START = -3  # the id `^` stands for: the start of a sentence
YOUNG = -4  # the id `#young` stands for: a number from 1 to 17 (a child's age)
FEW = -5  # the id `#few` stands for: a number from 1 to 3 (days within 3x24 hours)
ANCHORS = {"#": NUMBER, "$": END, "^": START, "#young": YOUNG, "#few": FEW}
CHILD_AGES = range(1, 18)
FEW_DAYS = range(1, 4)
WEAK = 1 << 20  # id + WEAK: a 4-letter typo of the word `id`, good only inside a phrase
_SEGMENT = re.compile(r"[.,!?;\n]+")
_NOT_WORD = re.compile(r"[^\w\s]|_")
_DOUBLED = re.compile(r"\b([^\W\d_]{2,})2\b")  # anak2 = anak anak
_GLUED = re.compile(r"\b(\d+)(thn|th|taun|tahun|bln|bulan|thun)\b")  # a number and its unit
_REPEATS = re.compile(r"([^\W\d_])\1+")
_SPECIAL = "@=#$^"


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=1)
def dictionary() -> frozenset[str]:
    """Sastrawi's Indonesian root words: a token in it is a real word, not a typo."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return frozenset(StemmerFactory().get_words())


_AFFIXED = re.compile(r"^(?:di|ke|se|be|te|me|pe)|(?:i|an|nya|lah|kah|tah|pun|ku|mu)$")


@lru_cache(maxsize=1 << 15)
def stem(word: str) -> str:
    """The Sastrawi stem of one lower-case word (`dipukuli` -> `pukul`); cached per word.
    A word with no prefix or suffix Sastrawi removes is its own stem (and slow to try)."""
    if len(word) < 4 or not _AFFIXED.search(word):
        return word
    return str(_stemmer().stem(word)) or word


def words_of(text: str) -> list[str]:
    """Lower case, no punctuation or emoji, `anak2` doubled, repeated letters squeezed."""
    folded = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower())
    folded = _GLUED.sub(r"\1 \2", folded)  # "15thn" = "15 thn"
    return _REPEATS.sub(r"\1", _DOUBLED.sub(r"\1 \1", folded)).split()


@dataclass(frozen=True)
class Word:
    text: str
    stem: str
    exact: bool  # written `=word`

    @property
    def affixed(self) -> bool:
        return self.text != self.stem


@dataclass(frozen=True)
class Pattern:
    kind: str  # the list it comes from: a group, a marker kind, "ignore", "negation"
    text: str  # as written in the lists file
    words: tuple[frozenset[int], ...]  # the ids each position accepts
    negative: bool = False  # it says a negation itself (`tidak mau hidup`): never cancelled
    tight: frozenset[int] = frozenset()  # positions written `+word`: right after the one before


class Vocabulary:
    """Normalising and the words patterns name; `hits(token)` = the word ids a token matches."""

    def __init__(self, spellings: Mapping[str, str], joins: Sequence[str]) -> None:
        self.spellings: dict[str, list[str]] = {}
        self.phrases: dict[tuple[str, ...], list[str]] = {}  # several-word spellings
        for several in (False, True):  # one-word spellings first: `sa pu` is `saya punya`
            for key, value in spellings.items():
                if (" " in key.strip()) == several:
                    self._add_spelling(key, value)
        self.joins = frozenset(w for j in joins for w in self.tokens(j))
        self.words: list[Word] = []
        self._ids: dict[tuple[str, bool], int] = {}
        self.sets: dict[str, frozenset[int]] = {}
        self._roots: dict[str, list[int]] = {}
        self._affixed: dict[str, list[int]] = {}
        self._exact: dict[str, list[int]] = {}
        self._near: dict[str, list[str]] = {}  # typo candidates by first letter
        self._near4: dict[str, list[str]] = {}  # the same, for 4-letter tokens
        self._known: frozenset[str] = frozenset()
        self._in_phrases: set[int] = set()  # words of phrases of literal words only
        self.hits: Callable[[str], frozenset[int]] = lru_cache(maxsize=1 << 14)(self._hits)

    def _add_spelling(self, key: str, value: str) -> None:
        words = tuple(x for w in words_of(key) for x in self.spellings.get(w, [w]))
        if len(words) == 1:
            self.spellings[words[0]] = words_of(value)
        elif words:
            self.phrases[words] = words_of(value)

    # -- normalising -------------------------------------------------------------------------
    def tokens(self, text: str, pattern: bool = True) -> list[str]:
        """One segment's tokens (pattern text may hold `@set`, `=word`, `#`, `^`, `$`, and
        `+` before a word that must follow the one before it with nothing between)."""
        out: list[str] = []
        for raw in text.split() if pattern else [text]:
            tight = pattern and raw.startswith("+") and len(raw) > 1
            raw, first = (raw[1:] if tight else raw), len(out)
            if pattern and raw[0] in _SPECIAL:
                rest = "".join(words_of(raw[1:])) if raw[0] == "=" else raw[1:].lower()
                out.append(raw[0] + rest)
            else:
                for w in words_of(raw):
                    out.extend(self.spellings.get(w, [w]))
            if tight and len(out) > first:
                out[first] = "+" + out[first]
        return self._join(self._respell(out))

    def segments(self, text: str) -> Iterator[list[str]]:
        """A message's sentences, as tokens."""
        for part in _SEGMENT.split(text):
            tokens = self._merge(self.tokens(part, pattern=False))
            if tokens:
                yield tokens

    def _respell(self, tokens: list[str]) -> list[str]:
        if not self.phrases:
            return tokens
        return _rewrite(tokens, lambda parts: self.phrases.get(tuple(parts)))

    def _join(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        for t in tokens:
            if out and out[-1] in self.joins and t.isalpha():  # squeezed as one word is:
                out[-1] = _REPEATS.sub(r"\1", out[-1] + t)  # `di ikat` = `diikat` = `dikat`
            else:
                out.append(t)
        return out

    def _merge(self, tokens: list[str]) -> list[str]:
        """Rejoin a word typed in pieces (`bu nuh`) when the whole is a pattern word."""
        def whole(parts: list[str]) -> list[str] | None:
            word = "".join(parts)
            if (len(word) >= 5 and min(map(len, parts)) <= 3 and (word, False) in self._ids
                    and not any((p, False) in self._ids for p in parts)):
                return [word]
            return None

        return _rewrite(tokens, whole)

    # -- patterns ----------------------------------------------------------------------------
    def _word_id(self, token: str) -> int:
        exact = token.startswith("=")
        text = token.lstrip("=")
        key = (text, exact)
        if key not in self._ids:
            self._ids[key] = len(self.words)
            self.words.append(Word(text, stem(text), exact))
        return self._ids[key]

    def add_set(self, name: str, members: Sequence[str]) -> None:
        """Words a pattern names as `@name`; ValueError names a member that is not one word."""
        ids = []
        for i, member in enumerate(members):
            tokens = self.tokens(member)
            if len(tokens) != 1 or tokens[0][0] in "@#$^+":
                raise ValueError(f"[{i}]: '{member}' is not one word")
            ids.append(self._word_id(tokens[0]))
        self.sets[name] = frozenset(ids)

    def compile(self, kind: str, text: str, negations: frozenset[int] = frozenset()) -> Pattern:
        """A pattern from its text; ValueError names what is wrong with it."""
        positions: list[frozenset[int]] = []
        tight: set[int] = set()
        for token in self.tokens(text):
            if token.startswith("+"):
                if not positions:
                    raise ValueError(f"'{text}': `+` joins a word to the one before it")
                tight.add(len(positions))
                token = token[1:]
            if token in ANCHORS:
                positions.append(frozenset({ANCHORS[token]}))
            elif token.startswith("@"):
                if token[1:] not in self.sets:
                    raise ValueError(f"unknown set '{token}'")
                positions.append(self.sets[token[1:]])
            elif token.strip(_SPECIAL):
                positions.append(frozenset({self._word_id(token)}))
        if not positions:
            raise ValueError(f"'{text}' has no words")
        if len(positions) > 1 and all(len(p) == 1 and min(p) >= 0 for p in positions):
            self._in_phrases.update(i for p in positions for i in p)  # only literal words
            positions = [p | {i + WEAK for i in p} for p in positions]
        negative = any(not p.isdisjoint(negations) for p in positions)
        return Pattern(kind, text, tuple(positions), negative, frozenset(tight))

    def freeze(self) -> None:
        """Index the pattern words once they are all known (before any `hits`)."""
        for i, w in enumerate(self.words):
            table = self._exact if w.exact else self._affixed if w.affixed else self._roots
            table.setdefault(w.text if w.exact else w.stem, []).append(i)
        self._known = dictionary() | {w.text for w in self.words} | set(self.spellings)
        words = dictionary()
        for i, w in enumerate(self.words):  # typos of Indonesian words (`raced` is no `raped`)
            if len(w.text) >= 5 and w.text.isalpha() and not w.exact and w.stem in words:
                self._near.setdefault(w.text[0], []).append(w.text)
                if i in self._in_phrases:
                    self._near4.setdefault(w.text[0], []).append(w.text)
        self.hits.cache_clear()  # type: ignore[attr-defined]

    def _hits(self, token: str) -> frozenset[int]:
        if token.isdigit():
            n = int(token)
            return frozenset({NUMBER, *([YOUNG] if n in CHILD_AGES else []),
                              *([FEW] if n in FEW_DAYS else [])})
        s = stem(token)
        ids = [*self._exact.get(token, ()), *self._roots.get(s, ())]
        if s != token:
            ids += [i for i in self._affixed.get(s, ()) if self.words[i].text[:2] == token[:2]]
        if not ids and s == token and token.startswith("di") and len(token) > 5:
            ids = list(self._roots.get(token[2:], ()))  # `digrepe`: a root Sastrawi lacks
        if not ids and self._may_be_typo(token, s):
            near = process.extractOne(token, (self._near4 if len(token) == 4 else self._near)
                                      .get(token[0], []),
                                      scorer=Levenshtein.distance, score_cutoff=1)
            if near is not None:
                ids = list(self._hits(near[0]))
                return frozenset(i + WEAK for i in ids) if len(token) == 4 else frozenset(ids)
        return frozenset(ids)

    def _may_be_typo(self, token: str, s: str) -> bool:
        return len(token) >= 4 and token.isalpha() and s == token and token not in self._known


def find(pattern: Pattern, hits: Sequence[frozenset[int]], start: int,
         gap: int, stops: frozenset[int] = frozenset()) -> tuple[int, ...] | None:
    """The positions of `pattern` in a segment starting at `start`, or None. A gap never
    passes over a word of `stops` (its group's `gap_stops`)."""
    words = pattern.words

    def extend(k: int, last: int) -> tuple[int, ...] | None:
        if k == len(words):
            return ()
        tight = END in words[k] or START in words[k - 1] or k in pattern.tight
        for j in range(last + 1, min(last + 2 + (0 if tight else gap), len(hits))):
            if j > last + 1 and not stops.isdisjoint(hits[j - 1]):
                break  # "saya tanya dia cekik": `saya ... cekik` may not skip `dia`
            if not words[k].isdisjoint(hits[j]):
                rest = extend(k + 1, j)
                if rest is not None:
                    return (j, *rest)
        return None

    if words[0].isdisjoint(hits[start]):
        return None
    rest = extend(1, start)
    return None if rest is None else (start, *rest)


def _rewrite(tokens: list[str],
             replace: Callable[[list[str]], Sequence[str] | None]) -> list[str]:
    """Tokens with each run of 3, else 2, that `replace` knows swapped for what it gives."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for n in (3, 2):
            parts = tokens[i:i + n]
            new = replace(parts) if len(parts) == n else None
            if new is not None:
                out.extend(new)
                i += n
                break
        else:
            out.append(tokens[i])
            i += 1
    return out
