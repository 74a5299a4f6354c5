"""Broadcast topics as data (flows/broadcast.yaml): what a family may subscribe to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flows.definition import FlowError, read_yaml

LIST = "broadcast_topics"  # the choice list the subscription question offers
ALL = "all"  # the choice that means every topic


@dataclass(frozen=True)
class Topics:
    """The topics (in order), their labels per language, and the consent texts' version."""

    version: str
    values: tuple[str, ...]
    labels: dict[str, dict[str, str]]  # "<list>.<value>" -> language ("*": all) -> label

    def expand(self, choice: str) -> tuple[str, ...]:
        """The topics a choice means: one, or every one for `all`."""
        return self.values if choice == ALL else (choice,)


def _label(raw: object, where: str) -> dict[str, str]:
    if isinstance(raw, str):
        return {"*": raw}
    if isinstance(raw, Mapping) and raw:
        return {str(k): str(v) for k, v in raw.items()}
    raise FlowError(f"{where}: a label is a text or a mapping of language to text")


def parse_topics(raw: object, source: str) -> Topics:
    if not isinstance(raw, Mapping) or not raw.get("consent_version") or not raw.get("topics"):
        raise FlowError(f"{source}: needs `consent_version` and a list of `topics`")
    values: list[str] = []
    labels: dict[str, dict[str, str]] = {}
    for i, item in enumerate(raw["topics"]):
        if not isinstance(item, Mapping) or len(item) != 1:
            raise FlowError(f"{source}: topics[{i}]: each topic is `value: label`")
        ((value, label),) = item.items()
        if str(value) == ALL or str(value) in values:
            raise FlowError(f"{source}: topics[{i}]: '{value}' is used twice or reserved")
        values.append(str(value))
        labels[f"{LIST}.{value}"] = _label(label, f"{source}: topics[{i}]")
    labels[f"{LIST}.{ALL}"] = _label(raw.get(ALL), f"{source}: all")
    return Topics(str(raw["consent_version"]), tuple(values), labels)


FOLDER = Path(__file__).resolve().parent


@lru_cache(maxsize=4)
def load_topics(folder: Path = FOLDER) -> Topics:
    path = folder / "broadcast.yaml"
    return parse_topics(read_yaml(path), str(path))
