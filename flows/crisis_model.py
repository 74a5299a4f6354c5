"""A second reading of a family's message for danger: a small statistical model, for what the
phrase lists miss.

The lists (flows/crisis.yaml) are exact and explainable, but they only know the phrasings
someone wrote down: on messages written by people who never saw them they found 47-77% of
the danger (README, "What the corpus figure does not say"). This model learned from the whole
corpus (tests/data/crisis_corpus.yaml) which pieces of words go with danger and with ordinary
messages, so it also reads phrasings nobody listed: `sa dipaksa layani om` shares pieces with
`paksa`, `layan`, `om`. It runs only where the lists found no danger, and it can never make a
message P0 on its own (flows/danger.py).

The model is a multinomial logistic regression over tf-idf weights of character 2-5-grams
(within words, as scikit-learn's `char_wb`) and of words and word pairs. It is trained with
scikit-learn by `lk3 flow train` into flows/crisis_model.json; reading it needs no library:
this module computes exactly what scikit-learn's `predict_proba` does (tests compare them).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ORDINARY = "ordinary"  # the class of messages that are no danger
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
_SPACES = re.compile(r"\s\s+")  # scikit-learn's char_wb: runs of white space are one
_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern


def char_grams(text: str) -> list[str]:
    """Character n-grams inside words padded with a space (scikit-learn's `char_wb`)."""
    lo, hi = CHAR_NGRAMS
    out: list[str] = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            out.extend(w[i:i + n] for i in range(max(1, len(w) - n + 1)))
            if len(w) <= n:
                break  # a short word counts once
    return out


def word_grams(text: str) -> list[str]:
    """Words of two or more letters, and pairs of them (scikit-learn's word analyzer)."""
    words = _WORD.findall(text.lower())
    out = list(words)
    for n in range(max(2, WORD_NGRAMS[0]), WORD_NGRAMS[1] + 1):
        out.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return out


ANALYZERS = {"char": char_grams, "word": word_grams}


@dataclass(frozen=True)
class Reading:
    danger: float  # how likely the message is about danger (1 - the ordinary class)
    group: str  # the most likely kind of danger


class CrisisModel:
    """The trained weights: per feature its idf and one weight per class."""

    def __init__(self, classes: list[str], intercept: list[float],
                 features: Mapping[str, Mapping[str, list[float]]], corpus: str) -> None:
        if ORDINARY not in classes:
            raise ValueError(f"the classes have no '{ORDINARY}'")
        self.classes, self.intercept = list(classes), list(intercept)
        self.features = {k: dict(v) for k, v in features.items()}
        self.corpus = corpus  # the sha256 of the corpus file it was trained on
        self._ordinary = self.classes.index(ORDINARY)

    def probabilities(self, text: str) -> list[float]:
        """One probability per class, as scikit-learn's `predict_proba` gives them."""
        scores = list(self.intercept)
        k = len(scores)
        for name, analyze in ANALYZERS.items():
            table = self.features[name]
            counts = Counter(g for g in analyze(text) if g in table)
            if not counts:
                continue
            weights = {g: (1.0 + math.log(c)) * table[g][0] for g, c in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values()))
            for g, w in weights.items():
                row, share = table[g], w / norm
                for j in range(k):
                    scores[j] += share * row[j + 1]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return [e / total for e in exp]

    def read(self, text: str) -> Reading:
        p = self.probabilities(text)
        best = max((j for j in range(len(p)) if j != self._ordinary), key=p.__getitem__)
        return Reading(1.0 - p[self._ordinary], self.classes[best])

    def to_json(self) -> dict[str, Any]:
        return {"corpus": self.corpus, "classes": self.classes, "intercept": self.intercept,
                "features": self.features}

    @classmethod
    def load(cls, path: Path) -> CrisisModel:
        """The model file; ValueError says what is wrong with it."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError("not found (make it with `lk3 flow train`)") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from exc
        try:
            model = cls(raw["classes"], raw["intercept"], raw["features"], raw["corpus"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a crisis model: {exc}") from exc
        width = len(model.classes) + 1
        if len(model.intercept) != len(model.classes) or set(model.features) != set(ANALYZERS) \
                or any(len(v) != width for t in model.features.values() for v in t.values()):
            raise ValueError("not a crisis model: the weights do not fit its classes")
        return model


def corpus_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def examples(corpus: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """(text, class) of a corpus file's contents: danger by group, ordinary as `ordinary`."""
    for item in corpus.get("danger") or []:
        yield str(item["text"]), str(item["group"])
    for text in corpus.get("ordinary") or []:
        yield str(text), ORDINARY
