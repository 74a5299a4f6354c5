"""Every YAML file in `flows/` that the service reads, checked as the service will read it.

`lk3 flow check` prints one line per file or group; `lk3 serve` (and `process`, `chat`)
refuse to start on the first error, with the same sentence. Each file goes through the
loader the service uses; a loader that fails with something other than FlowError on bad
data (an AttributeError from a list where a mapping belongs, say) is reported here with the
file named.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bot.casework.referrals import load_referrals
from bot.cli.textkeys import FAMILY, STAFF, used_keys
from bot.privacy.policy import load_policy
from flows.actions import ACTIONS, FLAGS
from flows.answers import load_answers
from flows.catalog import Catalog, load_catalog
from flows.crisis import load_crisis_words
from flows.definition import FlowError, read_yaml
from flows.directory import load_directory
from flows.engine import Engine
from flows.hours import load_hours
from flows.loader import (
    FLOWS_DIR,
    _load_lists,
    flow_names,
    load_bundle,
    load_keywords,
    load_phrases,
)
from flows.text import Phrases
from flows.triage import load_rules
from flows.types import LANGUAGES
from storage import cases


@dataclass
class Result:
    label: str
    ok: str = ""  # what was found, when it is fine
    error: str | None = None  # one sentence naming the file and the place
    warnings: list[str] = field(default_factory=list)


def one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text).strip()


def _run(label: str, path: Path, load: Callable[[], str], warnings: list[str] | None = None
         ) -> Result:
    try:
        return Result(label, load(), warnings=warnings or [])
    except FlowError as exc:
        return Result(label, error=one_line(str(exc)))
    except Exception as exc:  # a loader that did not expect this shape of data
        return Result(label, error=one_line(f"{path}: not in the form lk3 reads "
                                            f"({type(exc).__name__}: {exc})"))


def _file_of(folder: Path, lang: str, key: str) -> Path:
    """The catalog file of `lang` that defines `key` (for messages)."""
    for path in sorted(folder.glob(f"{lang}.*yaml")):
        raw = read_yaml(path)
        if isinstance(raw, dict) and key in raw:
            return path
    return folder / f"{lang}.yaml"


def _check_texts(catalog: Catalog, needed: frozenset[str]) -> None:
    """Complete in every language, every text the code names present, every text usable as
    a template ({name} placeholders only)."""
    for key in sorted(needed):
        for lang in LANGUAGES:
            if key not in catalog.texts[lang]:
                raise FlowError(f"{catalog.folder / lang}.yaml: text '{key}' is missing; the "
                                "service's code uses it, in every language")
    catalog.check_complete()
    for lang in LANGUAGES:
        for key, text in catalog.texts[lang].items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
            except ValueError as exc:
                raise FlowError(f"{_file_of(catalog.folder, lang, key)}: {key}: the braces "
                                f"do not pair up ({exc}); write {{name}} for a value, "
                                "nothing else in braces") from None
            bad = [f for f in fields if not f.isidentifier()]
            if bad:
                raise FlowError(f"{_file_of(catalog.folder, lang, key)}: {key}: "
                                f"{{{bad[0]}}} is not a placeholder; write {{name}} for a "
                                "value, nothing else in braces")


def _flow(folder: Path, name: str) -> str:
    engine = Engine(load_bundle(name, ACTIONS, FLAGS, folder=folder))
    case_answers(engine.flow.case_answers, str(folder / f"{name}.yaml"))
    return f"v{engine.flow.version}: {len(engine.flow.states)} states"


def case_answers(names: tuple[str, ...], source: str) -> None:
    """The answers a flow keeps on the case are exactly the cases table's answer columns:
    a question added to one and not the other would be lost without a word."""
    missing = [n for n in names if n not in cases.ANSWERS]
    if missing:
        raise FlowError(f"{source}: case_answers: `{missing[0]}` has no column on cases; add "
                        "it to storage/models.py (info=ANSWER) with a migration")
    unasked = [n for n in cases.ANSWERS if n not in names]
    if unasked:
        raise FlowError(f"{source}: case_answers: the cases column `{unasked[0]}` keeps an "
                        "answer, but the flow does not name it")


def _referrals(path: Path, warnings: list[str]) -> str:
    return f"{len(load_referrals(path, warnings))} institutions"


def _phrases(path: Path) -> Phrases:
    """The sentence patterns, their commands checked against the keywords' beside them."""
    return load_phrases(path, set(load_keywords(path.with_name("keywords.yaml")).values()))


def _read(_: object) -> str:
    return "read"


SINGLE: list[tuple[str, Callable[[Path], str]]] = [
    ("lists.yaml", lambda p: f"{len(_load_lists(p)[0])} lists"),
    ("keywords.yaml", lambda p: f"{len(load_keywords(p))} keywords"),
    ("phrases.yaml", lambda p: f"{len(_phrases(p))} patterns"),
    ("crisis.yaml", lambda p: _read(load_crisis_words(p))),
    ("directory.yaml", lambda p: _read(load_directory(p))),
    ("answers.yaml", lambda p: _read(load_answers(p))),
    ("service.yaml", lambda p: f"{len(load_hours(p).outcomes)} outcomes"),
    ("retention.yaml", lambda p: f"{len(load_policy(p).keep)} retention rules"),
    ("catalog", lambda p: f"{len(load_catalog(p).texts['id'])} texts"),
]


def results(folder: Path = FLOWS_DIR) -> list[Result]:
    """Every file's result, in the order the service reads them."""
    rel = folder.name
    names = flow_names(folder)
    single = [*SINGLE, *((f"{n}.triage.yaml", lambda p: _read(load_rules(p))) for n in names)]
    out = [_run(f"{rel}/{file}", folder / file, partial(load, folder / file))
           for file, load in single]
    if all(r.error is None for r in out):  # else each flow would fail on the same file
        out += [_run(name, folder / f"{name}.yaml", partial(_flow, folder, name))
                for name in names]
    warned: list[str] = []
    path = folder / "referrals.yaml"
    out.append(_run(f"{rel}/referrals.yaml", path, lambda: _referrals(path, warned), warned))
    keys = used_keys()
    staff = folder / "counselor"
    out.append(_run(f"{rel}/counselor", staff, partial(_texts, staff, keys[STAFF])))
    family = folder / "catalog"
    if out[len(SINGLE) - 1].error is None:  # the catalog itself read
        out.append(_run(f"{rel}/catalog (texts the service's code uses)", family,
                        partial(_texts, family, keys[FAMILY])))
    return out


def _texts(folder: Path, needed: frozenset[str]) -> str:
    catalog = load_catalog(folder)
    _check_texts(catalog, needed)
    return f"{len(catalog.texts['id'])} texts, {len(needed)} named in the code, all present"


def first_error(folder: Path = FLOWS_DIR) -> str | None:
    """The first problem `lk3 flow check` would report, as one sentence (for start-up)."""
    return next((r.error for r in results(folder) if r.error is not None), None)
