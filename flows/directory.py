"""The emergency directory: national numbers and the nearest health post by distrik.

Configuration, not code: every number must be re-checked before launch and quarterly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.definition import FlowError
from flows.types import LANGUAGES


@dataclass(frozen=True)
class Directory:
    national: tuple[dict[str, str], ...]  # each: id, en (what it is for), number
    health: dict[str, str]  # distrik -> nearest Puskesmas / hospital
    health_default: dict[str, str]  # per language

    def contacts(self, language: str, distrik: str | None) -> str:
        """The emergency contacts as bullet lines, nearest health post first if known."""
        health = self.health.get(distrik or "") or self.health_default[language]
        lines = [f"• {entry[language]}: {entry['number']}" for entry in self.national]
        label = "Terluka/sakit" if language == "id" else "Injured/ill"
        return "\n".join([lines[0], f"• {label}: {health}", *lines[1:]])


def load_directory(path: Path) -> Directory:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise FlowError(f"{path}: emergency directory not found") from exc
    except yaml.YAMLError as exc:
        raise FlowError(f"{path}: not valid YAML: {exc}") from exc
    national = raw.get("national")
    if not isinstance(national, list) or not national:
        raise FlowError(f"{path}: national: needs a list of numbers")
    for i, entry in enumerate(national):
        missing = [k for k in (*LANGUAGES, "number") if not isinstance(entry, Mapping)
                   or not entry.get(k)]
        if missing:
            raise FlowError(f"{path}: national[{i}]: missing {', '.join(missing)}")
    default = raw.get("health_default") or {}
    if any(not default.get(lang) for lang in LANGUAGES):
        raise FlowError(f"{path}: health_default: needs a text for every language")
    health = {str(k): str(v) for k, v in (raw.get("health") or {}).items()}
    return Directory(tuple({k: str(v) for k, v in e.items()} for e in national), health,
                     {k: str(v) for k, v in default.items()})
