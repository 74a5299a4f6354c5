"""`lk3 flow train`: the crisis model (flows/crisis_model.py) learned from the corpus.

scikit-learn does the learning (a development dependency: `pip install -e '.[dev]'`); the
service only reads the weights it writes. Run it after every change to the corpus: a test
refuses a model trained on another corpus.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from flows.crisis_model import (
    CHAR_NGRAMS,
    WORD_NGRAMS,
    CrisisModel,
    corpus_hash,
    examples,
)
from flows.loader import FLOWS_DIR

MODEL_FILE = FLOWS_DIR / "crisis_model.json"
C = 4.0  # inverse regularisation: chosen on messages the model never saw (README)
MIN_DF = 2  # a piece of a word seen in one message only says nothing general
DIGITS = 7  # significant digits kept in the file


def fit(corpus: Path) -> tuple[CrisisModel, Any]:
    """The model scikit-learn learns from `corpus`, and scikit-learn's own fitted pipeline
    (ImportError without scikit-learn)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = zip(*examples(yaml.safe_load(corpus.read_text(encoding="utf-8"))),
                        strict=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True,
                           min_df=MIN_DF)
    word = TfidfVectorizer(analyzer="word", ngram_range=WORD_NGRAMS, sublinear_tf=True,
                           min_df=MIN_DF)
    learner = LogisticRegression(C=C, class_weight="balanced", max_iter=10_000)
    pipeline = make_pipeline(make_union(char, word), learner).fit(list(texts), list(labels))
    features: dict[str, dict[str, list[float]]] = {}
    start = 0
    for name, vectorizer in (("char", char), ("word", word)):
        table = {}
        for gram, column in vectorizer.vocabulary_.items():
            weights = learner.coef_[:, start + column]
            table[gram] = [_round(vectorizer.idf_[column]), *map(_round, weights)]
        features[name] = dict(sorted(table.items()))
        start += len(vectorizer.vocabulary_)
    model = CrisisModel([str(c) for c in learner.classes_],
                        [_round(b) for b in learner.intercept_], features, corpus_hash(corpus))
    return model, pipeline


def _round(x: Any) -> float:
    return float(f"{float(x):.{DIGITS}g}")


def train(corpus: Path, out: Path = MODEL_FILE) -> int:
    try:
        model, _ = fit(corpus)
    except ImportError:
        print("lk3: `lk3 flow train` needs scikit-learn: pip install -e '.[dev]'",
              file=sys.stderr)
        return 2
    out.write_text(json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":")),
                   encoding="utf-8")
    counts = ", ".join(f"{k} {len(v):,}" for k, v in model.features.items())
    print(f"lk3: {out.name} trained on {corpus.name} ({counts} features; "
          f"{out.stat().st_size / 1e6:.1f} MB)")
    return 0
