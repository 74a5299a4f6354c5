"""The emergency directory: national numbers and the nearest health post by distrik.

Configuration, not code: every number must be re-checked before launch and quarterly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.definition import FlowError, read_yaml
from flows.types import LANGUAGES

HEALTH = "health"  # the `by_group` key of the nearest health post


def _per_language(value: Any, where: str) -> dict[str, str]:
    """A text for every language: one text for all, or a mapping by language."""
    if isinstance(value, Mapping):
        if any(not value.get(lang) for lang in LANGUAGES):
            raise FlowError(f"{where}: needs a text for every language ({', '.join(LANGUAGES)})")
        return {lang: str(value[lang]) for lang in LANGUAGES}
    if not value:
        raise FlowError(f"{where}: missing")
    return dict.fromkeys(LANGUAGES, str(value))


@dataclass(frozen=True)
class Directory:
    national: tuple[dict[str, Any], ...]  # each: key, id, en (what it is for), number by lang
    health: dict[str, dict[str, str]]  # distrik -> nearest Puskesmas / hospital, by language
    health_default: dict[str, str]  # per language
    by_group: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> keys
    office: dict[str, str] = field(default_factory=dict)  # id, en, phone

    def contacts(self, language: str, distrik: str | None,
                 groups: Sequence[str] = (), first: Sequence[str] = ()) -> str:
        """The emergency contacts as bullet lines: all of them, nearest health post second
        (with `first`, kinds of danger told: their numbers before the rest, so a boy who
        spoke of dying reads 119 first, not the police); or, for `groups` (kinds of danger,
        most important first), each group's numbers in its order, each number once."""
        keys = [k for g in groups for k in self.by_group.get(g, ())]
        if not keys:
            keys = [*(k for g in first for k in self.by_group.get(g, ())),
                    self.national[0]["key"], HEALTH, *(e["key"] for e in self.national[1:])]
        return "\n".join(self._line(k, language, distrik) for k in dict.fromkeys(keys))

    def _line(self, key: str, language: str, distrik: str | None) -> str:
        if key == HEALTH:
            label = "Terluka/sakit" if language == "id" else "Injured/ill"
            near = self.health.get(distrik or "")
            return f"• {label}: {near[language] if near else self.health_default[language]}"
        entry = next(e for e in self.national if e["key"] == key)
        return f"• {entry[language]}: {entry['number'][language]}"

    def office_text(self, language: str) -> str:
        """The office's name and place, and its phone where one is configured."""
        phone = self.office.get("phone", "")
        return self.office.get(language, "") + (f", {phone}" if phone else "")


def load_directory(path: Path) -> Directory:
    raw = read_yaml(path, "emergency directory") or {}
    national = raw.get("national")
    if not isinstance(national, list) or not national:
        raise FlowError(f"{path}: national: needs a list of numbers")
    entries: list[dict[str, Any]] = []
    for i, entry in enumerate(national):
        missing = [k for k in (*LANGUAGES, "number", "key") if not isinstance(entry, Mapping)
                   or not entry.get(k)]
        if missing:
            raise FlowError(f"{path}: national[{i}]: missing {', '.join(missing)}")
        entries.append({**{k: str(v) for k, v in entry.items() if k != "number"},
                        "number": _per_language(entry["number"], f"{path}: national[{i}].number")})
    keys = {e["key"] for e in entries} | {HEALTH}
    if len(keys) != len(entries) + 1:
        raise FlowError(f"{path}: national: every entry needs its own `key`")
    by_group: dict[str, tuple[str, ...]] = {}
    for group, listed in (raw.get("by_group") or {}).items():
        unknown = [k for k in listed or [] if k not in keys]
        if not listed or unknown:
            raise FlowError(f"{path}: by_group.{group}: unknown key "
                            f"'{unknown[0] if unknown else ''}' (keys: {', '.join(sorted(keys))})")
        by_group[str(group)] = tuple(str(k) for k in listed)
    default = raw.get("health_default") or {}
    if any(not default.get(lang) for lang in LANGUAGES):
        raise FlowError(f"{path}: health_default: needs a text for every language")
    office = raw.get("office") or {}
    if any(not office.get(lang) for lang in LANGUAGES):
        raise FlowError(f"{path}: office: needs the office's name and place in every language")
    health = {str(k): _per_language(v, f"{path}: health.{k}")
              for k, v in (raw.get("health") or {}).items()}
    return Directory(tuple(entries), health,
                     {k: str(v) for k, v in default.items()}, by_group,
                     {k: str(v) for k, v in office.items()})
