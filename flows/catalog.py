"""Message catalogs: one flat YAML file of texts per language, Indonesian first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.definition import FlowError, read_yaml
from flows.types import DEFAULT_LANGUAGE, LANGUAGES, Choice, Reply, made_often


@made_often
@dataclass(frozen=True)
class Rendered:
    """A reply in words: the text and its numbered choices."""

    text: str
    choices: tuple[Choice, ...] = ()


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Catalog:
    """Texts by language and key; every key exists in every language."""

    def __init__(self, texts: dict[str, dict[str, str]], folder: Path) -> None:
        self.texts = texts
        self.folder = folder

    def require(self, key: str, where: str) -> None:
        for lang in LANGUAGES:
            if key not in self.texts[lang]:
                raise FlowError(f"{where}: text key '{key}' missing in {self.folder / lang}.yaml")

    def check_complete(self) -> None:
        for lang in LANGUAGES:
            for other in LANGUAGES:
                missing = sorted(set(self.texts[lang]) - set(self.texts[other]))
                if missing:
                    raise FlowError(f"{self.folder / other}.yaml: '{missing[0]}' has no "
                                    f"translation (it is in {lang}.yaml)")

    def text(self, key: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
        table = self.texts.get(lang) or self.texts[DEFAULT_LANGUAGE]
        template = table[key]
        if not params:
            return template
        return template.format_map(_Lenient(params))  # str.format, a missing name kept

    def render(self, reply: Reply, lang: str, extra: Mapping[str, Any] | None = None) -> Rendered:
        params = {**reply.params, **(extra or {})}
        keys = [(name[:-4], str(value)) for name, value in params.items()
                if name.endswith("_key")]  # a parameter that is itself a catalog text
        for name, key in keys:
            params[name] = self.text(key, lang)
        for name, key in keys:  # ...which may use the others ("mulai {opens_day}")
            if "{" in params[name]:
                params[name] = self.text(key, lang, params)
        return Rendered(self.text(reply.key, lang, params), self._choices(reply.choices, lang))

    @lru_cache(maxsize=1024)  # noqa: B019 - catalogs live as long as the process
    def _choices(self, choices: tuple[tuple[str, str], ...], lang: str) -> tuple[Choice, ...]:
        return tuple(Choice(i, value, self.text(label, lang))
                     for i, (value, label) in enumerate(choices, start=1))


def _read(path: Path) -> dict[str, str]:
    raw = read_yaml(path, "catalog file") or {}
    if not isinstance(raw, Mapping):
        raise FlowError(f"{path}: a catalog is a mapping of key: text")
    return {str(k): str(v).rstrip("\n") for k, v in raw.items()}


def load_catalog(folder: Path, extra: dict[str, dict[str, str]] | None = None) -> Catalog:
    """Read `<lang>.yaml` and any `<lang>.<part>.yaml` (texts of one part of the service,
    e.g. `id.crisis.yaml`) for every language; `extra` adds labels ('*' = all languages).
    A key defined in two files of one language is an error."""
    texts: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        table = _read(folder / f"{lang}.yaml")
        for part in sorted(folder.glob(f"{lang}.*.yaml")):
            more = _read(part)
            twice = sorted(set(more) & set(table))
            if twice:
                raise FlowError(f"{part}: '{twice[0]}' is already defined in another "
                                f"{lang} catalog file")
            table.update(more)
        texts[lang] = table
        for key, labels in (extra or {}).items():
            label = labels.get(lang, labels.get("*"))
            if label is not None:
                texts[lang][f"list.{key}"] = label
    return Catalog(texts, folder)
